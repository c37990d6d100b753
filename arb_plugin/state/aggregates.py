"""
Read-only views of NautilusTrader's cache and portfolio for the STATE and PORTFOLIO keys.

Money stays exact: amounts are ``Money``/``Decimal`` rendered as decimal strings. Converting between KRW
and USDT uses the FX rate NautilusTrader holds (mark xrate, else the venue's quote xrate); the rate used is
written next to the figures, and a figure that cannot be converted is ``null`` with the currency named in
``missing_fx`` (or the figure NautilusTrader could not price yet): never a guess.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nautilus_trader.cache.cache import Cache
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import PositionSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import Money
from nautilus_trader.model.position import Position
from nautilus_trader.portfolio.base import PortfolioFacade

REPORTING_CURRENCIES: tuple[Currency, ...] = (KRW, USDT)


def position_summary(symbol: str, positions: list[Position], ts: int) -> dict[str, Any]:
    """The STATE ``{symbol}:position`` value: each venue leg's open position of the pair."""
    legs: dict[str, Any] = {}
    for position in positions:
        leg = legs.setdefault(
            position.instrument_id.value,
            {"net_qty": Decimal(0), "realized_pnl": Decimal(0), "currency": None, "open": []},
        )
        leg["realized_pnl"] += position.realized_pnl.as_decimal() if position.realized_pnl else Decimal(0)
        leg["currency"] = position.quote_currency.code
        if position.is_open:
            qty = position.quantity.as_decimal()
            leg["net_qty"] += qty if position.side == PositionSide.LONG else -qty
            leg["open"].append(
                {
                    "position_id": position.id.value,
                    "side": position.side.name,
                    "quantity": str(position.quantity),
                    "avg_px_open": str(Decimal(str(position.avg_px_open))),
                },
            )
    for leg in legs.values():
        leg["net_qty"] = str(leg["net_qty"])
        leg["realized_pnl"] = str(leg["realized_pnl"])
    return {"symbol": symbol, "legs": legs, "ts": ts}


def _xrate(cache: Cache, venue: Venue, source: Currency, target: Currency) -> Decimal | None:
    # Mark xrates only: NautilusTrader's quote xrates are per venue and cannot price USDT in KRW across
    # Binance and Upbit (reference P4); the strategy sets the mark xrate from the FX instrument.
    if source == target:
        return Decimal(1)
    rate = cache.get_mark_xrate(source, target)
    if rate is None or rate <= 0:
        return None
    return Decimal(repr(rate))


def _convert(
    cache: Cache,
    venue: Venue,
    amounts: dict[Currency, Money],
    target: Currency,
    missing: set[str],
) -> Decimal | None:
    total = Decimal(0)
    complete = True
    for currency, money in amounts.items():
        rate = _xrate(cache, venue, currency, target)
        if rate is None:
            missing.add(f"{currency.code}->{target.code}@{venue.value}")
            complete = False
            continue
        total += money.as_decimal() * rate
    if not complete:
        return None
    return total.quantize(Decimal(1).scaleb(-target.precision))


def portfolio_summary(cache: Cache, portfolio: PortfolioFacade, ts: int) -> dict[str, Any]:
    """The PORTFOLIO value: exposure and PnL in KRW and USDT, per venue and in total, and balances."""
    missing: set[str] = set()
    venues: dict[str, Any] = {}
    totals: dict[str, dict[str, Decimal | None]] = {
        name: dict.fromkeys((c.code for c in REPORTING_CURRENCIES), Decimal(0))
        for name in ("realized_pnl", "unrealized_pnl", "exposure")
    }
    balances: dict[str, dict[str, str]] = {}
    for account in cache.accounts():
        balances[account.id.value] = {
            balance.currency.code: str(balance.total.as_decimal()) for balance in account.balances().values()
        }
    venue_names = sorted(
        {a.id.get_issuer() for a in cache.accounts()} | {p.instrument_id.venue.value for p in cache.positions()},
    )
    for name in venue_names:
        venue = Venue(name)
        figures = {
            "realized_pnl": portfolio.realized_pnls,
            "unrealized_pnl": portfolio.unrealized_pnls,
            "exposure": portfolio.net_exposures,
        }
        per_venue: dict[str, Any] = {}
        for label, compute in figures.items():
            try:
                amounts: dict[Currency, Money] | None = compute(venue) or {}
            except (TypeError, ValueError, ArithmeticError):
                # NautilusTrader 1.231 raises on an open position it has no price for yet.
                amounts = None
                missing.add(f"{label}@{name}: no price yet")
            per_venue[label] = {}
            for target in REPORTING_CURRENCIES:
                value = None if amounts is None else _convert(cache, venue, amounts, target, missing)
                per_venue[label][target.code] = None if value is None else str(value)
                running = totals[label][target.code]
                totals[label][target.code] = None if running is None or value is None else running + value
        venues[name] = per_venue
    fx = cache.get_mark_xrate(USDT, KRW)
    return {
        "ts": ts,
        **{
            label: {ccy: None if v is None else str(v) for ccy, v in values.items()} for label, values in totals.items()
        },
        "venues": venues,
        "balances": balances,
        "fx_usdt_krw": None if fx is None else repr(fx),
        "missing_fx": sorted(missing),
    }


def instrument_symbol(instrument_id: InstrumentId) -> str:
    """Fallback STATE symbol for an instrument no pair claimed: its id (``KRW-BTC.UPBIT``)."""
    return instrument_id.value
