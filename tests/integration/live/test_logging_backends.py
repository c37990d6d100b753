"""LoggingManager against the real Redis and PostgreSQL, and NautilusTrader's log routed through it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from arb_plugin.observability.keys import log_stream_key
from arb_plugin.observability.logging import LogCategory
from arb_plugin.observability.logging import LoggingManager
from arb_plugin.observability.logging import LoggingTargets
from arb_plugin.settings import Environment
from arb_plugin.state.keys import KeyBuilder
from tests.integration.live.conftest import pg_fetch

pytestmark = pytest.mark.integration


def test_redis_stream_is_capped_at_maxlen(tmp_path: Path, redis_url: str, unique_id: str,
                                          redis_client: redis.Redis) -> None:
    manager = LoggingManager(
        Environment.STAGING,
        unique_id,
        LoggingTargets(tmp_path, redis_url=redis_url, stream_maxlen=1000, stream_env=unique_id),
        console=open(os.devnull, "w"),  # noqa: SIM115 - closed with the manager's console backend
    ).start()
    log = manager.get_logger(LogCategory.WEBSOCKET, "BinanceWebSocketClient")
    for i in range(1200):
        log.info(f"frame {i}", venue="BINANCE")
    manager.stop()
    key = manager.stream_key
    assert key == KeyBuilder(unique_id, None)(None, field="logs")  # tests use their own "environment" part
    assert redis_client.xlen(key) == 1000
    first = redis_client.xrange(key, count=1)[0][1]
    last = redis_client.xrevrange(key, count=1)[0][1]
    assert first["message"] == "frame 200"
    assert last["message"] == "frame 1199"
    assert last["category"] == "WEBSOCKET"
    assert last["level"] == "INFO"
    assert last["session_id"] == unique_id
    assert json.loads(last["context"]) == {"venue": "BINANCE"}


def test_postgres_gets_warning_and_above_in_batches(tmp_path: Path, pg_dsn: str, logs_schema: str,
                                                    unique_id: str) -> None:
    manager = LoggingManager(
        Environment.DEVELOPMENT, unique_id,
        LoggingTargets(tmp_path, postgres_dsn=pg_dsn, postgres_server_settings={"search_path": logs_schema},
                       pg_batch_size=4, pg_flush_ms=60_000),
        console=open(os.devnull, "w"),  # noqa: SIM115
    ).start()
    log = manager.get_logger(LogCategory.RISK, "ArbRiskGate")
    for i in range(10):
        log.debug(f"debug {i}")
        log.info(f"info {i}")
        log.warning(f"warning {i}", symbol="BTCUSDT")
    log.error("error 10")
    assert manager.flush()
    rows = asyncio.run(pg_fetch(pg_dsn, logs_schema, "SELECT * FROM system_logs ORDER BY id"))
    manager.stop()
    assert [r["message"] for r in rows] == [f"warning {i}" for i in range(10)] + ["error 10"]
    assert {r["level"] for r in rows} == {"WARNING", "ERROR"}
    assert {r["session_id"] for r in rows} == {unique_id}
    assert {r["category"] for r in rows} == {"RISK"}
    assert json.loads(rows[0]["data"]) == {"symbol": "BTCUSDT"}
    assert {r["logger"] for r in rows} == {"ArbRiskGate"}


def test_postgres_outage_keeps_rows_until_it_returns(tmp_path: Path, pg_dsn: str, logs_schema: str,
                                                     unique_id: str) -> None:
    bad = LoggingManager(
        Environment.PRODUCTION, unique_id,
        LoggingTargets(tmp_path, postgres_dsn="postgresql://postgres@127.0.0.1:1/test", pg_batch_size=2),
    ).start()
    bad.get_logger(LogCategory.SYNC, "x").error("kept while postgres is down")
    assert bad.flush()
    bad.stop()  # the writer survived the outage and stops cleanly
    assert "kept while postgres is down" in bad.file_path.read_text(encoding="utf-8")


SECRETS = {
    "BINANCE_API_KEY": "bnKEY9f8e7d6c5b4a3928172635445566778899aabbccddeeff00112233",
    "BINANCE_API_SECRET": "bnSECRETq1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c2v3b4",
    "UPBIT_ACCESS_KEY": "ubACCESSzyxwvutsrqponmlkjihgfedcba9876543210",
    "UPBIT_SECRET_KEY": "ubSECRETmnbvcxzlkjhgfdsapoiuytrewq1234567890",
}


def test_secrets_in_no_backend_and_nautilus_lines_routed_once(
    tmp_path: Path, redis_url: str, pg_dsn: str, logs_schema: str, unique_id: str, redis_client: redis.Redis,
    repo_root: Path,
) -> None:
    db_password = "pgPASSWORDzz991"
    env = {
        **os.environ,
        **SECRETS,
        "ARB_POSTGRES_DSN": f"postgresql://postgres:{db_password}@127.0.0.1:5432/test",
        "TEST_REDIS_URL": redis_url,
        "TEST_PG_DSN": pg_dsn,
    }
    child = Path(__file__).with_name("log_child.py")
    result = subprocess.run(
        [sys.executable, str(child), str(tmp_path), unique_id, logs_schema, "development"],
        env=env, cwd=repo_root, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    log_file = (tmp_path / "arbitrage_development.log").read_text(encoding="utf-8")
    stream = redis_client.xrange(log_stream_key(unique_id))
    stream_text = json.dumps([fields for _, fields in stream])
    rows = asyncio.run(pg_fetch(pg_dsn, logs_schema, "SELECT * FROM system_logs ORDER BY id"))
    pg_text = json.dumps([dict(r) for r in rows], default=str)

    backends = {"console": console, "file": log_file, "redis": stream_text, "postgres": pg_text}
    for name, text in backends.items():
        for secret in [*SECRETS.values(), db_password]:
            assert secret not in text, f"{secret[:6]}... leaked to {name}"
    assert "***" in log_file and "***" in stream_text and "***" in pg_text

    # Every marker reached the file and the stream exactly once; WARNING+ reached PostgreSQL.
    for marker in ("marker-nt-info", "marker-nt-warning", "marker-nt-error", "marker-arb-info",
                   "marker-arb-warning", "marker-arb-error"):
        assert log_file.count(marker) == 1, marker
        assert stream_text.count(marker) == 1, marker
    assert sorted(r["message"].split()[0] for r in rows if r["message"].startswith("marker")) == [
        "marker-arb-error", "marker-arb-warning", "marker-nt-error", "marker-nt-warning",
    ]
    # NautilusTrader's lines are in our format, categorised, marked as routed.
    nt_records = [json.loads(line) for line in log_file.splitlines() if "marker-nt-" in line]
    assert {(r["component"], r["category"], r["source"]) for r in nt_records} == {
        ("BinanceSpotDataClient-BINANCE", "EXCHANGE", "nautilus"),
    }
    assert any(json.loads(line)["component"] == "TradingNode" for line in log_file.splitlines())
    # Not duplicated on the console: each NautilusTrader line printed once, by our console backend (on
    # stdout, in our format); none in NautilusTrader's own format, on stdout or stderr.
    for marker in ("marker-nt-info", "marker-nt-warning", "marker-nt-error"):
        assert result.stdout.count(marker) == 1, (marker, result.stdout[-2000:])
        assert marker not in result.stderr
    assert not re.search(r"Z \[(DEBUG|INFO|WARN|ERROR)\] TRADER-", console)
    assert "Error syncing logs" not in result.stderr


def test_production_prints_nothing_of_nautilus_on_the_console(
    tmp_path: Path, redis_url: str, pg_dsn: str, logs_schema: str, unique_id: str, redis_client: redis.Redis,
    repo_root: Path,
) -> None:
    env = {**os.environ, **SECRETS, "ARB_POSTGRES_DSN": "postgresql://postgres@127.0.0.1:5432/test",
           "TEST_REDIS_URL": redis_url, "TEST_PG_DSN": pg_dsn}
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("log_child.py")), str(tmp_path), unique_id, logs_schema,
         "production"],
        env=env, cwd=repo_root, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "marker" not in result.stdout + result.stderr  # production: no console, not even NT's own errors
    log_file = (tmp_path / "arbitrage_production.log").read_text(encoding="utf-8")
    assert {json.loads(line)["level"] for line in log_file.splitlines()} <= {"WARNING", "ERROR"}
    for marker in ("marker-nt-warning", "marker-nt-error", "marker-arb-warning", "marker-arb-error"):
        assert log_file.count(marker) == 1
    assert "marker-nt-info" not in log_file and "marker-arb-info" not in log_file
    assert redis_client.xlen(log_stream_key(unique_id)) == len(log_file.splitlines())
