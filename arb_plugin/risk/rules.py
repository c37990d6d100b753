"""
Pure risk rules: plain numbers in, a :class:`Decision` out. No NautilusTrader state, no I/O.

Every rule returns :data:`ALLOW` or a denial whose ``reason`` starts with the guard's name and states the
numbers it compared, e.g. ``"MAX_SYMBOL_POSITION: BTCUSDT exposure 10,000,001 KRW after the order > limit
10,000,000 KRW"``. Boundaries are inclusive: a value exactly at its limit passes, anything beyond is denied.

Money is ``Decimal`` in the reporting currency (KRW unless configured otherwise); times are UNIX nanoseconds.
A limit of ``None`` disables its rule.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Final


class Guard(StrEnum):
    """Names of the guards (the reason code every denial and trip starts with)."""

    MAX_POSITION_SIZE = "MAX_POSITION_SIZE"  # one instrument position (one leg) notional
    MAX_SYMBOL_POSITION = "MAX_SYMBOL_POSITION"  # one symbol's gross notional (both legs)
    MAX_PORTFOLIO_EXPOSURE = "MAX_PORTFOLIO_EXPOSURE"  # every symbol's gross notional together
    MAX_DAILY_LOSS = "MAX_DAILY_LOSS"
    MAX_SYMBOL_DAILY_LOSS = "MAX_SYMBOL_DAILY_LOSS"
    MAX_DRAWDOWN = "MAX_DRAWDOWN"
    COOLDOWN = "COOLDOWN"
    SYMBOL_COOLDOWN = "SYMBOL_COOLDOWN"
    LEG_IMBALANCE = "LEG_IMBALANCE"
    STALE_MARKET_DATA = "STALE_MARKET_DATA"
    HALTED = "HALTED"
    MISSING_DATA = "MISSING_DATA"  # fail closed: instrument, account, price or FX rate absent


class Decision:
    """
    The outcome of a rule: allowed, or denied by ``guard`` with a human-readable ``reason``.

    Use :data:`ALLOW` for the allowed case (one shared instance: the hot path allocates nothing).
    """

    __slots__ = ("allowed", "guard", "reason")

    def __init__(self, allowed: bool, guard: Guard | None = None, reason: str = "") -> None:
        self.allowed = allowed
        self.guard = guard
        self.reason = reason

    @classmethod
    def deny(cls, guard: Guard, detail: str) -> Decision:
        """A denial by ``guard``; the reason reads ``"{guard}: {detail}"``."""
        return cls(False, guard, f"{guard.value}: {detail}")

    def __bool__(self) -> bool:
        return self.allowed

    def __repr__(self) -> str:
        return "Decision(ALLOW)" if self.allowed else f"Decision(DENY, {self.reason!r})"


ALLOW: Final = Decision(True)
NANOS_PER_SECOND: Final = 1_000_000_000


def fmt_money(value: Decimal, currency: str) -> str:
    """``Decimal('10000000.50')`` -> ``'10,000,000.5 KRW'`` (exact, no rounding)."""
    text = format(value.normalize(), ",f") if value else "0"
    return f"{text} {currency}"


def fmt_secs(nanos: int) -> str:
    """Nanoseconds as seconds with millisecond resolution, e.g. ``'2.501 s'``."""
    return f"{nanos / NANOS_PER_SECOND:.3f} s"


# -- pre-trade: exposure -----------------------------------------------------------------------------------


def max_position_size(
    instrument_id: object,
    notional_after: Decimal,
    limit: Decimal | None,
    currency: str = "KRW",
) -> Decision:
    """``MAX_POSITION_SIZE``: one instrument's worst-case position notional after the order."""
    if limit is None or notional_after <= limit:
        return ALLOW
    return Decision.deny(
        Guard.MAX_POSITION_SIZE,
        f"{instrument_id} position {fmt_money(notional_after, currency)} after the order "
        f"> limit {fmt_money(limit, currency)}",
    )


def max_symbol_position(
    symbol: str,
    exposure_after: Decimal,
    limit: Decimal | None,
    currency: str = "KRW",
) -> Decision:
    """``MAX_SYMBOL_POSITION``: one symbol's gross notional (both venues) after the order."""
    if limit is None or exposure_after <= limit:
        return ALLOW
    return Decision.deny(
        Guard.MAX_SYMBOL_POSITION,
        f"{symbol} exposure {fmt_money(exposure_after, currency)} after the order > limit {fmt_money(limit, currency)}",
    )


def max_portfolio_exposure(
    exposure_after: Decimal,
    limit: Decimal | None,
    currency: str = "KRW",
) -> Decision:
    """Portfolio exposure cap: the gross notional of every symbol together after the order."""
    if limit is None or exposure_after <= limit:
        return ALLOW
    return Decision.deny(
        Guard.MAX_PORTFOLIO_EXPOSURE,
        f"portfolio exposure {fmt_money(exposure_after, currency)} after the order "
        f"> limit {fmt_money(limit, currency)}",
    )


def leg_imbalance(
    symbol: str,
    unhedged: Decimal,
    unhedged_after: Decimal,
    limit: Decimal | None,
    currency: str = "KRW",
) -> Decision:
    """
    ``LEG_IMBALANCE``: while a symbol is unhedged (net filled position across its venues) beyond the limit,
    only an entry that shrinks the imbalance (the missing leg) may pass.
    """
    if limit is None or unhedged <= limit or unhedged_after < unhedged:
        return ALLOW
    return Decision.deny(
        Guard.LEG_IMBALANCE,
        f"{symbol} unhedged {fmt_money(unhedged, currency)} across venues > limit {fmt_money(limit, currency)}",
    )


def stale_market_data(instrument_id: object, age_ns: int, max_age_ns: int | None) -> Decision:
    """``STALE_MARKET_DATA``: the last price of ``instrument_id`` is older than allowed."""
    if max_age_ns is None or age_ns <= max_age_ns:
        return ALLOW
    return Decision.deny(
        Guard.STALE_MARKET_DATA,
        f"{instrument_id} last data {fmt_secs(age_ns)} old > max {fmt_secs(max_age_ns)}",
    )


# -- pre-trade: state --------------------------------------------------------------------------------------


def cooldown(now_ns: int, until_ns: int, cause: str) -> Decision:
    """``COOLDOWN``: every entry waits until ``until_ns`` (exclusive)."""
    if now_ns >= until_ns:
        return ALLOW
    return Decision.deny(Guard.COOLDOWN, f"{fmt_secs(until_ns - now_ns)} left (after {cause})")


def symbol_cooldown(symbol: str, now_ns: int, until_ns: int, cause: str) -> Decision:
    """``SYMBOL_COOLDOWN``: entries of ``symbol`` wait until ``until_ns`` (exclusive)."""
    if now_ns >= until_ns:
        return ALLOW
    left = fmt_secs(until_ns - now_ns)
    return Decision.deny(Guard.SYMBOL_COOLDOWN, f"{symbol} {left} left (after {cause})")


def halted(cause: str) -> Decision:
    """``HALTED``: trading halted by a post-trade guard; only orders reducing exposure pass."""
    return Decision.deny(Guard.HALTED, f"entries halted by {cause}")


def missing(what: str) -> Decision:
    """``MISSING_DATA``: fail closed when something a rule needs is absent."""
    return Decision.deny(Guard.MISSING_DATA, what)


# -- post-trade --------------------------------------------------------------------------------------------


def max_daily_loss(daily_pnl: Decimal, limit: Decimal | None, currency: str = "KRW") -> Decision:
    """``MAX_DAILY_LOSS``: trips when the trading day's PnL falls below ``-limit``."""
    if limit is None or daily_pnl >= -limit:
        return ALLOW
    return Decision.deny(
        Guard.MAX_DAILY_LOSS,
        f"daily PnL {fmt_money(daily_pnl, currency)} < -{fmt_money(limit, currency)}",
    )


def max_symbol_daily_loss(
    symbol: str,
    daily_pnl: Decimal,
    limit: Decimal | None,
    currency: str = "KRW",
) -> Decision:
    """``MAX_SYMBOL_DAILY_LOSS``: trips when one symbol's PnL for the day falls below ``-limit``."""
    if limit is None or daily_pnl >= -limit:
        return ALLOW
    return Decision.deny(
        Guard.MAX_SYMBOL_DAILY_LOSS,
        f"{symbol} daily PnL {fmt_money(daily_pnl, currency)} < -{fmt_money(limit, currency)}",
    )


def max_drawdown(peak: Decimal, equity: Decimal, limit: Decimal | None, currency: str = "KRW") -> Decision:
    """``MAX_DRAWDOWN``: trips when equity is more than ``limit`` below its peak (peak-to-trough)."""
    drawdown = peak - equity
    if limit is None or drawdown <= limit:
        return ALLOW
    return Decision.deny(
        Guard.MAX_DRAWDOWN,
        f"drawdown {fmt_money(drawdown, currency)} (peak {fmt_money(peak, currency)}, "
        f"now {fmt_money(equity, currency)}) > limit {fmt_money(limit, currency)}",
    )


def worst_case_quantity(position: Decimal, pending_buys: Decimal, pending_sells: Decimal) -> Decimal:
    """
    The largest absolute position an instrument can reach if any subset of its open orders fills.

    ``position`` is signed (base units, + long); pending quantities are the unfilled leaves, positive.
    """
    up = position + pending_buys
    down = position - pending_sells
    return max(abs(up), abs(down))
