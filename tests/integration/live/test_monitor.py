"""``arb monitor`` against the real Redis and PostgreSQL, fed by the LoggingManager and the METRICS flush."""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from pathlib import Path

import pytest
import redis

from arb_plugin.cli import main
from arb_plugin.observability.logging import LogCategory
from arb_plugin.observability.logging import LoggingManager
from arb_plugin.observability.logging import LoggingTargets
from arb_plugin.observability.metrics import RedisMetricsSink
from arb_plugin.observability.metrics import RollingMetrics
from arb_plugin.observability.monitor import CURSOR_HOME_CLEAR
from arb_plugin.observability.monitor import LogFilter
from arb_plugin.observability.monitor import LogMonitor
from arb_plugin.observability.monitor import run_dashboard
from arb_plugin.settings import Environment

pytestmark = pytest.mark.integration


def _manager(tmp_path: Path, unique_id: str, redis_url: str, pg_dsn: str, schema: str, env: str) -> LoggingManager:
    return LoggingManager(
        Environment.DEVELOPMENT, unique_id,
        LoggingTargets(tmp_path, redis_url=redis_url, postgres_dsn=pg_dsn, stream_env=env,
                       postgres_server_settings={"search_path": schema}, pg_batch_size=1),
        console=open(os.devnull, "w"),
    ).start()


def test_tail_errors_and_search(tmp_path: Path, unique_id: str, redis_url: str, pg_dsn: str, logs_schema: str,
                                redis_client: redis.Redis) -> None:
    manager = _manager(tmp_path, unique_id, redis_url, pg_dsn, logs_schema, env=unique_id)
    trade = manager.get_logger(LogCategory.TRADE, "ArbitrageStrategy")
    for i in range(30):
        trade.info(f"quote {i}")
    manager.get_logger(LogCategory.RISK, "ArbRiskGate").warning("MAX_SYMBOL_POSITION denied BTCUSDT")
    manager.get_logger(LogCategory.EXCHANGE, "UpbitHttp").error("insufficient_funds_bid on KRW-BTC")
    assert manager.flush()
    monitor = LogMonitor(redis_url, unique_id, pg_dsn, logs_schema)
    try:
        tail = list(monitor.tail(lines=5, follow=False))
        assert [e.message for e in tail] == ["quote 27", "quote 28", "quote 29",
                                             "MAX_SYMBOL_POSITION denied BTCUSDT", "insufficient_funds_bid on KRW-BTC"]
        only_trade = list(monitor.tail(lines=2, follow=False, keep=LogFilter(category="TRADE")))
        assert [e.message for e in only_trade] == ["quote 28", "quote 29"]

        # follow: a record appended after the tail started is delivered
        stop = threading.Event()
        got: list[str] = []

        def follow() -> None:
            for entry in monitor.tail(lines=0, follow=True, block_ms=100, should_stop=stop.is_set):
                got.append(entry.message)
                stop.set()

        reader = threading.Thread(target=follow)
        reader.start()
        time.sleep(0.3)
        trade.info("live record")
        reader.join(10)
        assert got == ["live record"]

        errors = monitor.errors()
        assert [(e.level, e.message, e.origin) for e in errors] == [
            ("ERROR", "insufficient_funds_bid on KRW-BTC", "postgres"),
        ]
        found = monitor.search("btcusdt")
        assert [(e.message, e.category) for e in found] == [("MAX_SYMBOL_POSITION denied BTCUSDT", "RISK")]
        assert len(monitor.search("QUOTE 1", limit=100)) == 11  # quote 1, quote 10..19 (stream only: INFO)
        assert monitor.latest_session() == unique_id
    finally:
        monitor.close()
        manager.stop()


def test_metrics_dashboard_redraws_in_place(unique_id: str, redis_url: str, redis_client: redis.Redis) -> None:
    rolling = RollingMetrics(60)
    now = time.time_ns()
    rolling.record_trade(now, count=3)
    rolling.record_loop_latency(now, 150_000)
    snap = rolling.snapshot(now)

    async def flush() -> None:
        sink = RedisMetricsSink(redis_url, unique_id, "sess-x")
        await sink.publish(snap, {"BTCUSDT": snap})
        await sink.close()

    asyncio.run(flush())
    monitor = LogMonitor(redis_url, unique_id)
    out = io.StringIO()
    try:
        assert run_dashboard(monitor, "sess-x", out, interval_s=0.05, iterations=3) == 3
    finally:
        monitor.close()
    text = out.getvalue()
    assert text.count(CURSOR_HOME_CLEAR) == 3 and text.startswith(CURSOR_HOME_CLEAR)
    frame = text.split(CURSOR_HOME_CLEAR)[-1]
    assert "session=sess-x" in frame
    assert "  trades / min                      3.00" in frame
    assert "  avg loop latency               0.15 ms" in frame
    assert "  BTCUSDT" in frame


def test_cli_tail_and_metrics(tmp_path: Path, unique_id: str, redis_url: str, pg_dsn: str, logs_schema: str,
                              capsys: pytest.CaptureFixture[str], redis_client: redis.Redis,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARB_SHARED_DIR", raising=False)  # an ARB_* variable the settings would read
    manager = _manager(tmp_path, unique_id, redis_url, pg_dsn, logs_schema, env="dev")  # the real dev stream
    manager.get_logger(LogCategory.WEBSOCKET, "BinanceWebSocketClient").warning(f"reconnected {unique_id}")
    assert manager.flush()
    manager.stop()
    assert main(["--env", "development", "monitor", "--tail", "--no-follow", "--session", unique_id,
                 "--no-color"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(f"WARNING  [WEBSOCKET] BinanceWebSocketClient: reconnected {unique_id}")
    assert main(["--env", "development", "monitor", "--metrics", "--session", unique_id, "--iterations", "1",
                 "--interval", "0.01"]) == 0
    assert "no METRICS for this session" in capsys.readouterr().out
