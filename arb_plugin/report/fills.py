"""Fills and positions of a finished backtest: exact cash flows, ``fills.csv`` and ``positions.csv``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.orders import Order

from arb_plugin.events import parse_order_tags
from arb_plugin.nodes.backtest import BacktestOutcome
from arb_plugin.report.series import PriceSeries

_NS = 1_000_000_000


@dataclass(frozen=True)
class FillRecord:
    """One fill with its cash flows (quote currency and KRW at the fill's FX rate)."""

    ts_event: int
    venue: str
    instrument_id: str
    client_order_id: str
    venue_order_id: str
    trade_id: str
    pair: str
    intent: str
    side: str
    quantity: Decimal
    price: Decimal
    quote_currency: str
    commission: Decimal
    commission_currency: str
    fx_usdt_krw: Decimal

    @property
    def signed_qty(self) -> Decimal:
        return self.quantity if self.side == "BUY" else -self.quantity

    @property
    def fee_quote(self) -> Decimal:
        if self.commission_currency == self.quote_currency:
            return self.commission
        return self.commission * self.price  # charged in the base currency

    @property
    def cash_flow_quote(self) -> Decimal:
        gross = self.price * self.quantity
        return (gross if self.side == "SELL" else -gross) - self.fee_quote

    def to_krw(self, amount: Decimal) -> Decimal:
        return amount if self.quote_currency == "KRW" else amount * self.fx_usdt_krw

    def to_usdt(self, amount: Decimal) -> Decimal:
        return amount if self.quote_currency == "USDT" else amount / self.fx_usdt_krw


def collect_fills(orders: list[Order], fx: PriceSeries) -> list[FillRecord]:
    """Every ``OrderFilled`` of ``orders``, in time order, with the FX rate in force at its time."""
    out = []
    for order in orders:
        intent, pair = parse_order_tags(order.tags)
        for event in order.events:
            if not isinstance(event, OrderFilled):
                continue
            rate = fx.at(event.ts_event)
            if rate is None:
                raise ValueError(f"no FX rate at or before fill {event.trade_id} ({event.ts_event})")
            out.append(
                FillRecord(
                    ts_event=event.ts_event,
                    venue=event.instrument_id.venue.value,
                    instrument_id=event.instrument_id.value,
                    client_order_id=event.client_order_id.value,
                    venue_order_id=event.venue_order_id.value,
                    trade_id=event.trade_id.value,
                    pair=pair or "",
                    intent=intent.value if intent else "",
                    side="BUY" if event.order_side == OrderSide.BUY else "SELL",
                    quantity=event.last_qty.as_decimal(),
                    price=event.last_px.as_decimal(),
                    quote_currency=event.currency.code,
                    commission=event.commission.as_decimal(),
                    commission_currency=event.commission.currency.code,
                    fx_usdt_krw=rate,
                ),
            )
    out.sort(key=lambda f: (f.ts_event, f.client_order_id))
    return out


FILLS_COLUMNS = (
    "ts_event",
    "time_utc",
    "venue",
    "instrument_id",
    "pair",
    "intent",
    "side",
    "quantity",
    "price",
    "quote_currency",
    "commission",
    "commission_currency",
    "fx_usdt_krw",
    "cash_flow_quote",
    "cash_flow_krw",
    "client_order_id",
    "venue_order_id",
    "trade_id",
)


def write_fills_csv(fills: list[FillRecord], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FILLS_COLUMNS)
        for x in fills:
            w.writerow(
                (
                    x.ts_event,
                    iso_time(x.ts_event),
                    x.venue,
                    x.instrument_id,
                    x.pair,
                    x.intent,
                    x.side,
                    x.quantity,
                    x.price,
                    x.quote_currency,
                    x.commission,
                    x.commission_currency,
                    x.fx_usdt_krw,
                    x.cash_flow_quote,
                    x.to_krw(x.cash_flow_quote),
                    x.client_order_id,
                    x.venue_order_id,
                    x.trade_id,
                ),
            )


def write_positions_csv(outcome: BacktestOutcome, path: Path) -> int:
    positions = outcome.engine.cache.positions()
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            (
                "position_id",
                "instrument_id",
                "entry",
                "side",
                "quantity",
                "peak_qty",
                "avg_px_open",
                "avg_px_close",
                "realized_pnl",
                "commissions",
                "ts_opened",
                "ts_closed",
                "is_closed",
            ),
        )
        for p in sorted(positions, key=lambda p: (p.ts_opened, p.id.value)):
            w.writerow(
                (
                    p.id.value,
                    p.instrument_id.value,
                    p.entry.name,
                    p.side.name,
                    p.quantity.as_decimal(),
                    p.peak_qty.as_decimal(),
                    Decimal(str(p.avg_px_open)),
                    Decimal(str(p.avg_px_close)) if p.avg_px_close else "",
                    p.realized_pnl.to_formatted_str() if p.realized_pnl else "",
                    "; ".join(c.to_formatted_str() for c in p.commissions()),
                    p.ts_opened,
                    p.ts_closed or "",
                    p.is_closed,
                ),
            )
    return len(positions)


def iso_time(ts: int) -> str:
    """A UTC ISO-8601 time (``...Z``) from nanoseconds."""
    return datetime.fromtimestamp(ts / _NS, tz=UTC).isoformat().replace("+00:00", "Z")
