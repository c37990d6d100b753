"""
End to end: ``arb paper`` (a real process) against both fake venues on loopback, the real Redis and PostgreSQL.

The node runs for well over 20 s while the Binance fake's prices swing the premium both ways, so the strategy
enters and exits through both sandbox venues. Then the Binance fake drops its WebSocket and refuses new ones
for 2 s: ``/health`` must answer 503 naming ``ws_binance`` only, the client must reconnect, ``/health`` must
answer 200 again, trading must go on, and nothing the node had written may be lost. Ctrl-C (SIGINT) stops it
with status 0 and the session marked stopped. All four API keys are set and must appear in no backend.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import redis

from arb_plugin.events import PairSnapshot
from arb_plugin.observability.keys import log_stream_key
from arb_plugin.observability.metrics import MetricsSnapshot
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from tests.integration.live.conftest import pg_fetch
from tests.integration.live.paper_venues import PaperVenues

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SWING = (Decimal("0.97"), Decimal("1.05"))  # premium about +5 % / -3 % against the real level of ~+2 %


def _health(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _log_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _wait(predicate: Any, timeout: float, what: str, proc: subprocess.Popen[str] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the node exited ({proc.returncode}) while waiting for {what}")
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _swing_for(venues: PaperVenues, seconds: float, url: str, period: float = 3.0) -> list[int]:
    statuses = []
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        venues.set_binance_factor(SWING[i % 2])
        i += 1
        phase_end = min(end, time.monotonic() + period)
        while time.monotonic() < phase_end:
            statuses.append(_health(url)[0])
            time.sleep(0.5)
    return statuses


@pytest.fixture
def session(unique_id: str, redis_url: str) -> Iterator[str]:
    """The end-to-end run's session id; its Redis keys are deleted afterwards, pass or fail."""
    session_id = f"e2e-{unique_id}"
    yield session_id
    _cleanup(redis_url, KeyBuilder("dev", session_id))


def test_paper_node_end_to_end(
    tmp_path: Path, market_dir: Path, redis_url: str, pg_dsn: str, logs_schema: str, session: str,
    repo_root: Path,
) -> None:
    keys = KeyBuilder("dev", session)
    r = redis.Redis.from_url(redis_url)
    venues = PaperVenues(market_dir).start_in_thread()
    environ = {k: v for k, v in os.environ.items() if k != "ARB_SHARED_DIR"}  # not a settings override
    environ.update(venues.node_environ())
    environ.update({
        "ARB_ENV": "development",
        "ARB_STATE__POSTGRES_SCHEMA": logs_schema,
        "ARB_OBSERVABILITY__LOG_DIR": str(tmp_path / "logs"),
        "ARB_OBSERVABILITY__HEALTH_PORT": "0",
        "ARB_NODE__RECONCILIATION_STARTUP_DELAY_SECS": "1",
        "ARB_NODE__TIMEOUT_POST_STOP_SECS": "0.5",
        # an Upbit IOC leg the book moved away from is canceled (as on the venue) and unwound at a small loss;
        # the 60 s symbol cooldown after it would stop the trading this run needs
        "ARB_RISK__SYMBOL_COOLDOWN_SECS": "0",
        "PYTHONUNBUFFERED": "1",
    })
    log_file = tmp_path / "logs" / "arbitrage_development.log"
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("w") as out, stderr.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "arb_plugin.cli", "paper", "--session", session],
            cwd=repo_root, env=environ, stdout=out, stderr=err, text=True,
        )
    try:
        # -- start: the health URL is in the log; /health turns 200 once both venues stream ----------------
        def health_url() -> str | None:
            for rec in _log_records(log_file):
                m = re.search(r"health=(http://127\.0\.0\.1:\d+/health)", rec["message"])
                if m:
                    return m.group(1)
            return None

        url = _wait(health_url, 60, "the health server", proc)
        _wait(lambda: _health(url)[0] == 200, 60, "/health 200", proc)
        status, report = _health(url)
        assert set(report["checks"]) == {"redis", "postgres", "ws_binance", "ws_upbit", "engine"}
        t_start = time.monotonic()

        # -- 24 s of trading while the premium swings -----------------------------------------------------
        statuses = _swing_for(venues, 24, url)
        assert set(statuses) == {200}, statuses

        metrics = msgspec.json.decode(r.get(keys(Domain.METRICS)), type=MetricsSnapshot)
        assert metrics.quotes_per_minute_by_venue["BINANCE"] > 0
        assert metrics.quotes_per_minute_by_venue["UPBIT"] > 0
        assert metrics.trades_per_minute > 0
        assert metrics.avg_loop_latency_ms is not None
        assert 0 < r.ttl(keys(Domain.METRICS)) <= 120
        flushed = metrics.ts
        _wait(lambda: msgspec.json.decode(r.get(keys(Domain.METRICS)), type=MetricsSnapshot).ts > flushed, 3,
              "the next METRICS flush")

        fills = _fills(pg_dsn, logs_schema, session)
        venues_filled = {f["instrument_id"].rsplit(".", 1)[1] for f in fills}
        assert venues_filled == {"BINANCE", "UPBIT"}, venues_filled
        snapshot = PairSnapshot.from_json(r.get(keys(Domain.SNAPSHOT, "BTCUSDT")))
        assert snapshot.round_trips >= 1
        assert r.exists(keys(Domain.STATE, "BTCUSDT", "position"))
        assert r.exists(keys(Domain.PORTFOLIO))
        (session_row,) = asyncio.run(pg_fetch(pg_dsn, logs_schema, "SELECT * FROM sessions WHERE session_id = $1",
                                               session))
        assert (session_row["status"], session_row["mode"], session_row["starts"]) == ("active", "paper", 1)

        # -- the Binance WebSocket drops: 503 naming ws_binance, reconnect, 200 --------------------------
        fills_before = {f["trade_id"] for f in fills}
        rows_before = asyncio.run(pg_fetch(pg_dsn, logs_schema, "SELECT count(*) AS n FROM position_snapshots "
                                           "WHERE session_id = $1", session))[0]["n"]
        assert venues.call(venues.binance.drop_connections(refuse_for_s=2.0)) >= 1
        dropped_at = time.monotonic()
        down = _wait(lambda: (lambda s, b: b if s == 503 else None)(*_health(url)), 5, "/health 503", proc)
        assert down["failing"] == ["ws_binance"], down
        assert down["checks"]["ws_upbit"]["ok"] and down["checks"]["engine"]["ok"]
        _wait(lambda: _health(url)[0] == 200, 15, "/health 200 after the reconnect", proc)
        recovered_s = time.monotonic() - dropped_at
        assert venues.binance.ws_refused >= 1 and venues.binance.ws_handshakes >= 2

        statuses = _swing_for(venues, 9, url)
        assert set(statuses) == {200}, statuses

        # -- nothing lost: same session, every earlier fill still there, more trading after --------------
        fills_after = _fills(pg_dsn, logs_schema, session)
        assert fills_before <= {f["trade_id"] for f in fills_after}
        assert len(fills_after) > len(fills_before)
        assert {f["instrument_id"].rsplit(".", 1)[1] for f in fills_after[len(fills_before):]} == {"BINANCE", "UPBIT"}
        rows_after = asyncio.run(pg_fetch(pg_dsn, logs_schema, "SELECT count(*) AS n FROM position_snapshots "
                                          "WHERE session_id = $1", session))[0]["n"]
        assert rows_after > rows_before
        later = PairSnapshot.from_json(r.get(keys(Domain.SNAPSHOT, "BTCUSDT")))
        assert later.round_trips >= snapshot.round_trips
        assert Decimal(later.realized_pnl_krw) != 0
        (session_row,) = asyncio.run(pg_fetch(pg_dsn, logs_schema, "SELECT * FROM sessions WHERE session_id = $1",
                                               session))
        assert (session_row["status"], session_row["starts"]) == ("active", 1)  # never restarted
        assert time.monotonic() - t_start >= 20
    finally:
        # -- Ctrl-C: clean stop, session marked stopped ------------------------------------------------
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        venues.stop_thread()
    console = stdout.read_text(encoding="utf-8") + stderr.read_text(encoding="utf-8")
    assert rc == 0, console[-4000:]
    (session_row,) = asyncio.run(pg_fetch(pg_dsn, logs_schema, "SELECT * FROM sessions WHERE session_id = $1",
                                           session))
    assert session_row["status"] == "stopped"
    assert session_row["stopped_at"] is not None

    # -- the log: four backends, NautilusTrader routed in, categorised, no secret anywhere ---------------
    records = _log_records(log_file)
    assert {rec["session_id"] for rec in records} == {session}
    reconnect = [rec for rec in records if "Reconnected" in rec["message"] and rec["category"] == "WEBSOCKET"]
    assert reconnect and reconnect[0]["source"] == "nautilus"
    assert any(rec["message"] == "stopping: received SIGINT" for rec in records)
    categories = {rec["category"] for rec in records}
    assert {"ENGINE", "TRADE", "EXCHANGE", "WEBSOCKET", "SYNC"} <= categories
    stream = [f for _, f in redis.Redis.from_url(redis_url, decode_responses=True).xrange(log_stream_key("dev"))
              if f.get("session_id") == session]
    assert stream and any("Reconnected" in f["message"] for f in stream)
    system_logs = asyncio.run(pg_fetch(pg_dsn, logs_schema, "SELECT * FROM system_logs WHERE session_id = $1",
                                       session))
    assert any("Reconnected" in row["message"] and row["category"] == "WEBSOCKET" for row in system_logs)
    assert {row["level"] for row in system_logs} <= {"WARNING", "ERROR", "CRITICAL"}
    backends = {
        "console": console,
        "file": log_file.read_text(encoding="utf-8"),
        "redis": json.dumps(stream),
        "postgres": json.dumps([dict(row) for row in system_logs], default=str),
    }
    for name, text in backends.items():
        for key_name in ("BINANCE_API_KEY", "BINANCE_API_SECRET", "UPBIT_ACCESS_KEY", "UPBIT_SECRET_KEY"):
            assert environ[key_name] not in text, f"{key_name} leaked to the {name} backend"
    print(f"\npaper e2e: /health back to 200 {recovered_s:.2f} s after the drop; fills {len(fills_after)}; "
          f"round trips {later.round_trips}")


def _fills(pg_dsn: str, schema: str, session: str) -> list[dict[str, Any]]:
    rows = asyncio.run(pg_fetch(pg_dsn, schema, "SELECT data FROM position_snapshots WHERE session_id = $1 "
                                "AND kind = 'fill' ORDER BY id", session))
    return [json.loads(row["data"]) if isinstance(row["data"], str) else row["data"] for row in rows]


def _cleanup(redis_url: str, keys: KeyBuilder) -> None:
    client = redis.Redis.from_url(redis_url)
    found = list(client.scan_iter(match=keys.session_pattern(), count=1000))
    if found:
        client.delete(*found)
    client.close()
