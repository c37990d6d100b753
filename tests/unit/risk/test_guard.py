"""The hierarchy, the trading day and the restart rules, on plain numbers."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from arb_plugin.risk.guard import GuardLimits
from arb_plugin.risk.guard import RiskGuard
from arb_plugin.risk.guard import SymbolLimits
from arb_plugin.risk.guard import TradingDay
from arb_plugin.risk.rules import ALLOW
from arb_plugin.risk.rules import Guard

D = Decimal
SEC = 1_000_000_000
PAIRS = [
    ("BTCUSDT", ("BTCUSDT.BINANCE", "KRW-BTC.UPBIT"), "KRW-USDT.UPBIT"),
    ("ETHUSDT", ("ETHUSDT.BINANCE", "KRW-ETH.UPBIT"), "KRW-USDT.UPBIT"),
]


def ns(text: str) -> int:
    return int(pd.Timestamp(text).value)


# -- trading day -------------------------------------------------------------------------------------------


def test_trading_day_starts_at_midnight_seoul_by_default() -> None:
    day = TradingDay()
    assert day.bounds(ns("2024-08-01T14:59:59.999999999Z")) == (
        "2024-08-01",
        ns("2024-07-31T15:00:00Z"),
        ns("2024-08-01T15:00:00Z"),
    )
    assert day.bounds(ns("2024-08-01T15:00:00Z")) == (
        "2024-08-02",
        ns("2024-08-01T15:00:00Z"),
        ns("2024-08-02T15:00:00Z"),
    )


def test_trading_day_with_a_start_hour() -> None:
    day = TradingDay("Asia/Seoul", 9)
    assert day.bounds(ns("2024-08-01T23:59:00Z"))[0] == "2024-08-01"  # 08:59 KST on Aug 2
    assert day.bounds(ns("2024-08-02T00:00:00Z"))[0] == "2024-08-02"  # 09:00 KST


def test_trading_day_follows_daylight_saving() -> None:
    day = TradingDay("America/New_York", 17)
    day_id, start, end = day.bounds(ns("2024-03-10T12:00:00Z"))  # the day the clocks spring forward
    assert day_id == "2024-03-09"
    assert start == ns("2024-03-09T22:00:00Z")  # 17:00 EST
    assert end == ns("2024-03-10T21:00:00Z")  # 17:00 EDT: a 23-hour trading day
    with pytest.raises(ValueError, match="start_hour=24"):
        TradingDay("UTC", 24)


# -- hierarchy ---------------------------------------------------------------------------------------------------


def _guard(**overrides: object) -> RiskGuard:
    values: dict[str, object] = {
        "max_position_size": D("5000000"),
        "max_portfolio_exposure": D("20000000"),
        "max_daily_loss": D("500000"),
        "max_drawdown": D("1000000"),
        "cooldown_ns": 300 * SEC,
        "cooldown_min_loss": D("100000"),
        "symbol_defaults": SymbolLimits(D("10000000"), D("200000"), 60 * SEC, D("500000")),
        "symbols": {"BTCUSDT": SymbolLimits(D("2000000"), D("200000"), 60 * SEC, D("500000"))},
    }
    values.update(overrides)
    limits = GuardLimits(**values)  # type: ignore[arg-type]
    guard = RiskGuard(limits, PAIRS)
    guard.roll_day_if_due(ns("2024-08-01T00:00:00Z"), lambda: D(0), lambda s: D(0))
    return guard


def _exposure(guard: RiskGuard, symbol: str, exposure: str, portfolio: str = "0") -> object:
    return guard.check_exposure(guard.symbol(symbol), "X", D(0), D(exposure), D(portfolio), D(0), D(0))


def test_symbol_limit_blocks_only_that_symbol() -> None:
    guard = _guard()
    decision = _exposure(guard, "BTCUSDT", "2000001")
    assert decision.guard is Guard.MAX_SYMBOL_POSITION  # type: ignore[attr-defined]
    assert _exposure(guard, "BTCUSDT", "2000000") is ALLOW
    assert _exposure(guard, "ETHUSDT", "2000001") is ALLOW  # ETH has the default 10,000,000


def test_portfolio_cap_blocks_every_symbol() -> None:
    guard = _guard()
    for symbol in ("BTCUSDT", "ETHUSDT"):
        decision = _exposure(guard, symbol, "1", portfolio="20000001")
        assert decision.guard is Guard.MAX_PORTFOLIO_EXPOSURE  # type: ignore[attr-defined]
        assert _exposure(guard, symbol, "1", portfolio="20000000") is ALLOW


def test_daily_loss_halts_every_symbol_until_the_next_day() -> None:
    guard = _guard()
    now = ns("2024-08-01T01:00:00Z")
    assert guard.evaluate(D("-500000"), guard.symbol("BTCUSDT"), D("-50000")) == []
    trips = guard.evaluate(D("-500001"), guard.symbol("BTCUSDT"), D("-50000"))
    assert [t.guard for t in trips] == [Guard.MAX_DAILY_LOSS]
    assert trips[0].scope is None
    for symbol in ("BTCUSDT", "ETHUSDT"):
        decision = guard.check_state(guard.symbol(symbol), now)
        assert decision.guard is Guard.HALTED
        assert "MAX_DAILY_LOSS: daily PnL -500,001 KRW < -500,000 KRW" in decision.reason
    assert guard.evaluate(D("-600000"), None, D(0)) == []  # trips once
    # the next trading day (00:00 Seoul = 15:00 UTC) clears it and measures from the new day's start
    assert guard.roll_day_if_due(ns("2024-08-01T14:59:59Z"), lambda: D("-600000"), lambda s: D(0)) is None
    assert guard.roll_day_if_due(ns("2024-08-01T15:00:00Z"), lambda: D("-600000"), lambda s: D(0)) is True
    assert guard.check_state(guard.symbol("BTCUSDT"), ns("2024-08-01T15:00:01Z")) is ALLOW
    assert guard.global_guard.daily_pnl == 0


def test_symbol_daily_loss_blocks_that_symbol_for_the_day() -> None:
    guard = _guard()
    btc = guard.symbol("BTCUSDT")
    now = ns("2024-08-01T01:00:00Z")
    assert guard.evaluate(D("-200000"), btc, D("-200000")) == []
    trips = guard.evaluate(D("-200001"), btc, D("-200001"))
    assert [(t.guard, t.scope) for t in trips] == [(Guard.MAX_SYMBOL_DAILY_LOSS, "BTCUSDT")]
    assert guard.cooldowns_for(trips[0], now) == ["BTCUSDT"]
    assert guard.check_state(btc, now).guard is Guard.MAX_SYMBOL_DAILY_LOSS
    assert guard.check_state(guard.symbol("ETHUSDT"), now) is ALLOW
    guard.roll_day_if_due(ns("2024-08-01T15:00:00Z"), lambda: D("-200001"), lambda s: D("-200001"))
    # the block is gone; the cooldown started at the trip has long expired
    assert guard.check_state(btc, ns("2024-08-01T15:00:00Z")) is ALLOW
    assert btc.daily_pnl == 0


def test_drawdown_in_session_mode_stays_halted_until_resumed() -> None:
    guard = _guard(max_daily_loss=None)
    assert guard.evaluate(D("300000"), None, D(0)) == []
    assert guard.evaluate(D("-700000"), None, D(0)) == []  # exactly 1,000,000 below the peak
    trips = guard.evaluate(D("-700001"), None, D(0))
    assert trips[0].guard is Guard.MAX_DRAWDOWN
    guard.roll_day_if_due(ns("2024-08-02T00:00:00Z"), lambda: D("-700001"), lambda s: D(0))
    assert guard.global_guard.halted  # a new day does not lift a session drawdown halt
    assert guard.global_guard.resume() is True
    assert guard.check_state(guard.symbol("BTCUSDT"), ns("2024-08-02T00:00:01Z")) is ALLOW


def test_drawdown_in_day_mode_resets_with_the_day() -> None:
    guard = _guard(drawdown_window="day", max_daily_loss=None)
    guard.evaluate(D("300000"), None, D(0))
    assert guard.evaluate(D("-700001"), None, D(0))[0].guard is Guard.MAX_DRAWDOWN
    assert guard.roll_day_if_due(ns("2024-08-01T15:00:00Z"), lambda: D("-700001"), lambda s: D(0)) is True
    assert guard.global_guard.peak == D("-700001")  # the new day's peak starts where equity is
    assert guard.evaluate(D("-1700001"), None, D(0)) == []
    assert guard.evaluate(D("-1700002"), None, D(0))[0].guard is Guard.MAX_DRAWDOWN


def test_a_restart_on_a_later_day_does_not_carry_a_day_drawdown_peak() -> None:
    before = _guard(drawdown_window="day", max_daily_loss=None, max_drawdown=D("1000000"))
    before.evaluate(D("300000"), None, D(0))
    assert before.evaluate(D("-600000"), None, D(0)) == []  # 900,000 below the day's peak: within the limit
    state = before.global_guard.snapshot(ns("2024-08-01T10:00:00Z"))

    same_day = RiskGuard(before.limits, PAIRS)
    same_day.restore(state, {}, {})
    same_day.roll_day_if_due(ns("2024-08-01T11:00:00Z"), lambda: D(0), lambda s: D(0))
    assert same_day.global_guard.peak == D("300000")  # the same day: its peak stays
    assert same_day.evaluate(D("-100001"), None, D(0))[0].guard is Guard.MAX_DRAWDOWN

    next_day = RiskGuard(before.limits, PAIRS)
    next_day.restore(state, {}, {})
    next_day.roll_day_if_due(ns("2024-08-01T16:00:00Z"), lambda: D(0), lambda s: D(0))  # 01:00 KST, Aug 2
    assert next_day.global_guard.peak == D("-600000")  # the new day's peak starts where equity is
    assert next_day.evaluate(D("-100001"), None, D(0)) == []


def test_losing_close_starts_cooldowns() -> None:
    guard = _guard()
    now = ns("2024-08-01T01:00:00Z")
    assert guard.on_pair_closed("BTCUSDT", D("5000"), now) == []  # a win starts nothing
    assert guard.on_pair_closed("BTCUSDT", D("-99999"), now) == ["BTCUSDT"]  # below cooldown_min_loss
    assert guard.check_state(guard.symbol("ETHUSDT"), now) is ALLOW
    decision = guard.check_state(guard.symbol("BTCUSDT"), now + 60 * SEC - 1)
    assert decision.guard is Guard.SYMBOL_COOLDOWN
    assert "losing close of BTCUSDT (-99,999 KRW)" in decision.reason
    assert guard.check_state(guard.symbol("BTCUSDT"), now + 60 * SEC) is ALLOW
    now += 1
    assert guard.on_pair_closed("BTCUSDT", D("-100000"), now) == ["BTCUSDT", None]  # a big loss: everyone waits
    assert guard.check_state(guard.symbol("ETHUSDT"), now + 300 * SEC - 1).guard is Guard.COOLDOWN
    assert guard.check_state(guard.symbol("ETHUSDT"), now + 300 * SEC) is ALLOW


# -- restart -------------------------------------------------------------------------------------------------------


def test_restore_carries_daily_figures_within_the_same_day() -> None:
    before = _guard()
    btc = before.symbol("BTCUSDT")
    before.evaluate(D("-150000"), btc, D("-120000"))
    before.on_pair_closed("BTCUSDT", D("-1"), ns("2024-08-01T01:00:00Z"))
    now = ns("2024-08-01T01:00:10Z")
    global_state = before.global_guard.snapshot(now)
    symbol_state = btc.snapshot(now, before.global_guard.day_id)

    after = RiskGuard(before.limits, PAIRS)
    after.restore(global_state, {"BTCUSDT": symbol_state}, {})
    # a new process: NautilusTrader's PnL restarts at 0
    after.roll_day_if_due(ns("2024-08-01T02:00:00Z"), lambda: D(0), lambda s: D(0))
    assert after.global_guard.daily_pnl == D("-150000")
    assert after.symbol("BTCUSDT").daily_pnl == D("-120000")
    assert after.check_state(after.symbol("BTCUSDT"), ns("2024-08-01T01:00:59Z")).guard is Guard.SYMBOL_COOLDOWN
    # 80,001 more lost in this process breaches the symbol's 200,000 for the day
    trips = after.evaluate(D("-80001"), after.symbol("BTCUSDT"), D("-80001"))
    assert [t.guard for t in trips] == [Guard.MAX_SYMBOL_DAILY_LOSS]


def test_restore_on_a_later_day_keeps_equity_and_sticky_halts_only() -> None:
    before = _guard(max_drawdown=D("1000000"))
    before.evaluate(D("300000"), None, D(0))
    before.evaluate(D("-500001"), None, D(0))  # MAX_DAILY_LOSS (drawdown 800,001 is within its limit)
    state = before.global_guard.snapshot(ns("2024-08-01T03:00:00Z"))
    assert state.halted and state.halt_guard == "MAX_DAILY_LOSS"

    same_day = RiskGuard(before.limits, PAIRS)
    same_day.restore(state, {}, {})
    same_day.roll_day_if_due(ns("2024-08-01T04:00:00Z"), lambda: D(0), lambda s: D(0))
    assert same_day.global_guard.halted

    next_day = RiskGuard(before.limits, PAIRS)
    next_day.restore(state, {}, {})
    assert next_day.roll_day_if_due(ns("2024-08-02T04:00:00Z"), lambda: D(0), lambda s: D(0)) is True
    assert not next_day.global_guard.halted
    assert next_day.global_guard.daily_pnl == 0
    assert next_day.global_guard.peak == D("300000")  # session equity and its peak carry over
    assert next_day.global_guard.equity == D("-500001")
    # equity = -500,001 carried + this process's PnL; drawdown from the carried 300,000 peak
    assert next_day.evaluate(D("-199999"), None, D(0)) == []  # equity -700,000: drawdown exactly 1,000,000
    assert next_day.evaluate(D("-200000"), None, D(0))[0].guard is Guard.MAX_DRAWDOWN
