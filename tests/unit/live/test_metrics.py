"""RollingMetrics (hand-computed windows) and the Prometheus text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arb_plugin.observability.metrics import MetricsSnapshot
from arb_plugin.observability.metrics import RollingMetrics
from arb_plugin.observability.metrics import render_prometheus

S = 1_000_000_000
MS = 1_000_000
T0 = 1_700_000_000 * S  # a whole second


def test_empty_window() -> None:
    snap = RollingMetrics(60).snapshot(T0)
    assert snap.trades_per_minute == 0
    assert snap.errors_per_minute == 0
    assert snap.avg_ws_latency_ms is None
    assert snap.avg_loop_latency_ms is None
    assert snap.guard_triggers_per_minute == 0
    assert snap.pnl_change_1min == "0"


def test_sixty_second_window_by_hand() -> None:
    m = RollingMetrics(60)
    m.record_trade(T0)
    m.record_trade(T0 + 10 * S, count=2)
    m.record_errors(T0 + 20 * S, 3)
    m.record_guard_trigger(T0 + 30 * S)
    m.record_ws_latency(T0 + 1 * S, "UPBIT", 12 * MS)
    m.record_ws_latency(T0 + 2 * S, "UPBIT", 18 * MS)
    m.record_ws_latency(T0 + 3 * S, "BINANCE", 3 * MS)
    m.record_quote(T0 + 3 * S, "BINANCE")
    m.record_loop_latency(T0 + 4 * S, 200_000)
    m.record_loop_latency(T0 + 5 * S, 400_000)
    m.record_pnl(T0 + 6 * S, Decimal("15000.5"))
    m.record_pnl(T0 + 7 * S, Decimal("-2500.25"))

    snap = m.snapshot(T0 + 59 * S)  # window (T0-1, T0+59]: everything
    assert snap.trades_per_minute == 3
    assert snap.errors_per_minute == 3
    assert snap.guard_triggers_per_minute == 1
    assert snap.avg_ws_latency_ms == pytest.approx((12 + 18 + 3) / 3)
    assert snap.ws_latency_ms_by_venue == {"BINANCE": pytest.approx(3.0), "UPBIT": pytest.approx(15.0)}
    assert snap.quotes_per_minute == 4
    assert snap.quotes_per_minute_by_venue == {"BINANCE": 2, "UPBIT": 2}
    assert snap.avg_loop_latency_ms == pytest.approx(0.3)
    assert snap.pnl_change_1min == "12500.25"

    snap = m.snapshot(T0 + 60 * S)  # T0's second has left the window
    assert snap.trades_per_minute == 2
    snap = m.snapshot(T0 + 66 * S)  # seconds T0..T0+6 gone
    assert snap.pnl_change_1min == "-2500.25"
    assert snap.avg_loop_latency_ms is None
    assert snap.avg_ws_latency_ms is None
    assert m.snapshot(T0 + 200 * S).errors_per_minute == 0


def test_slot_reuse_resets_old_bucket() -> None:
    m = RollingMetrics(60)
    m.record_trade(T0, count=5)
    m.record_trade(T0 + 60 * S)  # same ring slot, one window later
    assert m.snapshot(T0 + 60 * S).trades_per_minute == 1


def test_per_minute_scales_with_window() -> None:
    m = RollingMetrics(30)
    m.record_trade(T0, count=4)
    assert m.snapshot(T0 + 10 * S).trades_per_minute == 8


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window_secs=0: must be > 0"):
        RollingMetrics(0)


def test_prometheus_text() -> None:
    snap = MetricsSnapshot(
        ts=T0, window_secs=60, trades_per_minute=4.0, errors_per_minute=0.0, avg_ws_latency_ms=1.5,
        avg_loop_latency_ms=None, guard_triggers_per_minute=1.0, pnl_change_1min="-12.5",
        ws_latency_ms_by_venue={"UPBIT": 1.5}, quotes_per_minute=120.0,
        quotes_per_minute_by_venue={"BINANCE": 80.0, "UPBIT": 40.0},
    )
    per_symbol = {"BTCUSDT": MetricsSnapshot(
        ts=T0, window_secs=60, trades_per_minute=4.0, errors_per_minute=0.0, avg_ws_latency_ms=None,
        avg_loop_latency_ms=0.25, guard_triggers_per_minute=0.0, pnl_change_1min="-12.5",
    )}
    text = render_prometheus(snap, {"env": "development", "session": 's"1'}, per_symbol)
    lines = text.splitlines()
    assert "# TYPE arb_trades_per_minute gauge" in lines
    assert 'arb_trades_per_minute{env="development",session="s\\"1"} 4.0' in lines
    assert 'arb_pnl_change_1min{env="development",session="s\\"1"} -12.5' in lines
    assert 'arb_avg_loop_latency_ms{env="development",session="s\\"1",symbol="BTCUSDT"} 0.25' in lines
    portfolio_loop = 'arb_avg_loop_latency_ms{env="development",session="s\\"1"}'
    assert not any(line.startswith(portfolio_loop) for line in lines)
    assert 'arb_ws_latency_ms{env="development",session="s\\"1",venue="UPBIT"} 1.5' in lines
    assert 'arb_venue_quotes_per_minute{env="development",session="s\\"1",venue="BINANCE"} 80.0' in lines
    for name in ("trades_per_minute", "errors_per_minute", "avg_ws_latency_ms", "avg_loop_latency_ms",
                 "guard_triggers_per_minute", "pnl_change_1min"):
        assert f"# HELP arb_{name} " in text
    assert text.endswith("\n")
