"""The pure rules at their boundaries: a value at the limit passes, anything beyond is denied with numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arb_plugin.risk import rules
from arb_plugin.risk.rules import ALLOW
from arb_plugin.risk.rules import Guard

D = Decimal
LIMIT = D("10000000")


@pytest.mark.parametrize(
    ("rule", "guard", "args"),
    [
        (rules.max_position_size, Guard.MAX_POSITION_SIZE, ("KRW-BTC.UPBIT",)),
        (rules.max_symbol_position, Guard.MAX_SYMBOL_POSITION, ("BTCUSDT",)),
        (rules.max_portfolio_exposure, Guard.MAX_PORTFOLIO_EXPOSURE, ()),
    ],
)
def test_exposure_rules_pass_at_the_limit_and_deny_one_won_over(rule, guard, args) -> None:
    assert rule(*args, LIMIT, LIMIT) is ALLOW
    assert rule(*args, D("9999999.99"), LIMIT) is ALLOW
    decision = rule(*args, D("10000000.01"), LIMIT)
    assert not decision.allowed
    assert decision.guard is guard
    assert decision.reason.startswith(f"{guard.value}: ")
    assert "10,000,000.01 KRW" in decision.reason
    assert "limit 10,000,000 KRW" in decision.reason
    for name in args:
        assert name in decision.reason


def test_a_limit_of_none_disables_a_rule() -> None:
    assert rules.max_position_size("X", D("1e30"), None) is ALLOW
    assert rules.max_daily_loss(D("-1e30"), None) is ALLOW
    assert rules.max_drawdown(D("1e30"), D(0), None) is ALLOW
    assert rules.stale_market_data("X", 10**18, None) is ALLOW


def test_daily_loss_trips_only_below_minus_limit() -> None:
    assert rules.max_daily_loss(D("-500000"), D("500000")) is ALLOW
    assert rules.max_daily_loss(D("1000"), D("500000")) is ALLOW
    decision = rules.max_daily_loss(D("-500000.5"), D("500000"))
    assert decision.guard is Guard.MAX_DAILY_LOSS
    assert decision.reason == "MAX_DAILY_LOSS: daily PnL -500,000.5 KRW < -500,000 KRW"


def test_symbol_daily_loss_names_the_symbol() -> None:
    assert rules.max_symbol_daily_loss("ETHUSDT", D("-200000"), D("200000")) is ALLOW
    decision = rules.max_symbol_daily_loss("ETHUSDT", D("-200001"), D("200000"))
    assert decision.reason == "MAX_SYMBOL_DAILY_LOSS: ETHUSDT daily PnL -200,001 KRW < -200,000 KRW"


def test_drawdown_is_peak_to_trough() -> None:
    assert rules.max_drawdown(D("300000"), D("-700000"), D("1000000")) is ALLOW
    decision = rules.max_drawdown(D("300000"), D("-700001"), D("1000000"))
    assert decision.guard is Guard.MAX_DRAWDOWN
    assert "drawdown 1,000,001 KRW (peak 300,000 KRW, now -700,001 KRW) > limit 1,000,000 KRW" in decision.reason


def test_cooldowns_end_exactly_at_their_expiry() -> None:
    assert not rules.cooldown(999, 1000, "losing close")
    assert rules.cooldown(1000, 1000, "losing close") is ALLOW
    decision = rules.symbol_cooldown("BTCUSDT", 0, 2_500_000_000, "MAX_SYMBOL_DAILY_LOSS")
    assert decision.reason == "SYMBOL_COOLDOWN: BTCUSDT 2.500 s left (after MAX_SYMBOL_DAILY_LOSS)"


def test_stale_market_data() -> None:
    assert rules.stale_market_data("KRW-BTC.UPBIT", 2_000_000_000, 2_000_000_000) is ALLOW
    decision = rules.stale_market_data("KRW-BTC.UPBIT", 2_000_000_001, 2_000_000_000)
    assert decision.reason == "STALE_MARKET_DATA: KRW-BTC.UPBIT last data 2.000 s old > max 2.000 s"


def test_leg_imbalance_lets_the_missing_leg_through() -> None:
    limit = D("500000")
    assert rules.leg_imbalance("BTCUSDT", D("500000"), D("1350000"), limit) is ALLOW  # at the limit
    # beyond the limit: an entry that does not shrink the imbalance is denied ...
    decision = rules.leg_imbalance("BTCUSDT", D("850000"), D("1700000"), limit)
    assert decision.reason == "LEG_IMBALANCE: BTCUSDT unhedged 850,000 KRW across venues > limit 500,000 KRW"
    assert not rules.leg_imbalance("BTCUSDT", D("850000"), D("850000"), limit)
    # ... the missing leg (imbalance shrinks) passes
    assert rules.leg_imbalance("BTCUSDT", D("850000"), D("0"), limit) is ALLOW


@pytest.mark.parametrize(
    ("position", "buys", "sells", "expected"),
    [
        ("0", "0", "0", "0"),
        ("1", "0", "0", "1"),
        ("1", "0.5", "0", "1.5"),
        ("1", "0", "3", "2"),  # every sell fills: short 2
        ("-1", "0.4", "0.2", "1.2"),
        ("0", "2", "3", "3"),
    ],
)
def test_worst_case_quantity(position: str, buys: str, sells: str, expected: str) -> None:
    assert rules.worst_case_quantity(D(position), D(buys), D(sells)) == D(expected)


def test_missing_names_what_is_missing() -> None:
    decision = rules.missing("no FX rate USDT/KRW (mark xrate)")
    assert decision.guard is Guard.MISSING_DATA
    assert decision.reason == "MISSING_DATA: no FX rate USDT/KRW (mark xrate)"


def test_money_format_is_exact() -> None:
    assert rules.fmt_money(D("1234567.8900"), "KRW") == "1,234,567.89 KRW"
    assert rules.fmt_money(D("0E-8"), "KRW") == "0 KRW"
    assert rules.fmt_money(D("-5E+5"), "KRW") == "-500,000 KRW"
