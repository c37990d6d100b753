"""
Pure sizing of an arbitrage entry: both legs get the same base quantity, which must fit each venue's
increments, minimum quantity, minimum notional and the free balance the leg spends.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class VenueRules:
    """One venue's order rules for an instrument (base quantity, quote-currency notional)."""

    size_increment: Decimal
    min_quantity: Decimal | None
    min_notional: Decimal | None
    fee_rate: Decimal


@dataclass(frozen=True, slots=True)
class Sizing:
    """The entry quantity, or ``None`` with the reason it could not be sized."""

    quantity: Decimal | None
    reason: str | None = None


def common_increment(a: VenueRules, b: VenueRules) -> Decimal:
    """The coarser size increment, which must be a multiple of the finer one."""
    coarse, fine = max(a.size_increment, b.size_increment), min(a.size_increment, b.size_increment)
    if coarse % fine != 0:
        raise ValueError(f"size increments {a.size_increment} and {b.size_increment} are not multiples")
    return coarse


def floor_to(quantity: Decimal, increment: Decimal) -> Decimal:
    """Round ``quantity`` down to a multiple of ``increment``."""
    return (quantity / increment).to_integral_value(rounding=ROUND_FLOOR) * increment


def fits(rules: VenueRules, quantity: Decimal, price: Decimal) -> str | None:
    """``None`` when ``quantity`` at ``price`` meets the venue's minimums, else what it misses."""
    if rules.min_quantity is not None and quantity < rules.min_quantity:
        return f"quantity {quantity} below minimum {rules.min_quantity}"
    if rules.min_notional is not None and quantity * price < rules.min_notional:
        return f"notional {quantity * price} below minimum {rules.min_notional}"
    return None


def size_entry(
    target: Decimal,
    buy_rules: VenueRules,
    buy_price: Decimal,
    buy_free_quote: Decimal,
    sell_rules: VenueRules,
    sell_price: Decimal,
    sell_free_base: Decimal,
) -> Sizing:
    """
    Size both legs of an entry.

    Parameters
    ----------
    target : Decimal
        Wanted base quantity per leg.
    buy_rules, buy_price, buy_free_quote :
        The buying venue: rules, price (its quote currency) and free quote balance (which pays price
        plus fee).
    sell_rules, sell_price, sell_free_base :
        The selling venue: rules, price (its quote currency) and free base balance (inventory to sell).
    """
    affordable = buy_free_quote / (buy_price * (1 + buy_rules.fee_rate)) if buy_price > 0 else Decimal(0)
    quantity = floor_to(min(target, affordable, sell_free_base), common_increment(buy_rules, sell_rules))
    if quantity <= 0:
        limit = (
            "quote balance on the buy venue"
            if affordable < min(target, sell_free_base)
            else ("base inventory on the sell venue")
        )
        return Sizing(None, f"no {limit}")
    for side, rules, price in (("buy", buy_rules, buy_price), ("sell", sell_rules, sell_price)):
        if (missing := fits(rules, quantity, price)) is not None:
            return Sizing(None, f"{side} leg {missing}")
    return Sizing(quantity)
