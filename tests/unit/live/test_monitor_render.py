"""The monitor's pure parts: the dashboard frame, log line format, filters, --since, argument errors."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from arb_plugin.cli import main
from arb_plugin.commands.monitor import MonitorError
from arb_plugin.commands.monitor import parse_since
from arb_plugin.observability.logging import LogLevel
from arb_plugin.observability.metrics import MetricsSnapshot
from arb_plugin.observability.monitor import LogEntry
from arb_plugin.observability.monitor import LogFilter
from arb_plugin.observability.monitor import format_entry
from arb_plugin.observability.monitor import render_dashboard

NOW = datetime(2026, 1, 31, 9, 0, 5, tzinfo=UTC)


def _snap(**kw: object) -> MetricsSnapshot:
    base: dict[str, object] = {
        "ts": int((NOW - timedelta(seconds=2)).timestamp() * 1e9), "window_secs": 60, "trades_per_minute": 4.0,
        "errors_per_minute": 1.0, "avg_ws_latency_ms": 12.345, "avg_loop_latency_ms": 0.0421,
        "guard_triggers_per_minute": 2.0, "pnl_change_1min": "-1500", "ws_latency_ms_by_venue": {"UPBIT": 12.345},
        "quotes_per_minute": 1200.0,
    }
    base.update(kw)
    return MetricsSnapshot(**base)  # type: ignore[arg-type]


def test_dashboard_frame() -> None:
    frame = render_dashboard("sess-1", _snap(), {"BTCUSDT": _snap(avg_loop_latency_ms=0.05)}, NOW, "dev")
    lines = frame.splitlines()
    assert lines[0] == "arb monitor --metrics   env=dev   session=sess-1   2026-01-31 09:00:05 UTC"
    assert "window 60 s, flushed 2.0 s ago" in frame
    assert "  trades / min                      4.00" in lines
    assert "  avg ws latency                12.35 ms" in lines
    assert "  avg loop latency               0.04 ms" in lines
    assert "  pnl change (1 min)           -1500 KRW" in lines
    assert "  ws latency by venue: UPBIT 12.35 ms" in lines
    assert any(line.startswith("  BTCUSDT") and "0.05" in line and "-1500" in line for line in lines)


def test_dashboard_without_metrics() -> None:
    frame = render_dashboard(None, None, {}, NOW, "prod")
    assert "session=-" in frame
    assert "no METRICS for this session" in frame


def test_log_line_and_filter() -> None:
    entry = LogEntry(NOW, "WARNING", "RISK", "ArbRiskGate", "denied BTCUSDT", "s1", "redis")
    assert format_entry(entry) == "2026-01-31T09:00:05.000000+00:00 WARNING  [RISK] ArbRiskGate: denied BTCUSDT"
    assert format_entry(entry, color=True).startswith("\x1b[33m")
    assert LogFilter()(entry)
    assert LogFilter(session_id="s1", min_level=LogLevel.WARNING, category="RISK")(entry)
    assert not LogFilter(session_id="s2")(entry)
    assert not LogFilter(min_level=LogLevel.ERROR)(entry)
    assert not LogFilter(category="TRADE")(entry)


def test_since() -> None:
    assert parse_since("30m", NOW) == NOW - timedelta(minutes=30)
    assert parse_since("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_since("1d", NOW) == NOW - timedelta(days=1)
    assert parse_since("2026-01-30T00:00", NOW) == datetime(2026, 1, 30, tzinfo=UTC)
    assert parse_since(None) is None
    with pytest.raises(MonitorError, match=r"--since 'yesterday': use e\.g\. 30m, 2h, 1d"):
        parse_since("yesterday", NOW)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["monitor"], "one of the arguments --tail --metrics --errors --search is required"),
        (["monitor", "--tail", "--metrics"], "not allowed with argument"),
        (["monitor", "--tail", "--lines", "0"], "0 must be > 0"),
        (["monitor", "--tail", "--level", "LOUD"], "invalid choice: 'LOUD'"),
    ],
)
def test_bad_arguments(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
