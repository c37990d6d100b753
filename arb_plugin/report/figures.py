"""Figures of a backtest: the premium's statistics, combined KRW equity, drawdown, starting capital."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arb_plugin.report.fills import FillRecord
from arb_plugin.report.series import PriceSeries
from arb_plugin.spread import premium_bps


# -- figures ---------------------------------------------------------------------------------------------
def _pct(values: list[Decimal], q: float) -> Decimal:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def premium_stats(upbit: PriceSeries, binance: PriceSeries, fx: PriceSeries) -> dict[str, Any]:
    """Premium ``upbit / (binance * fx) - 1`` (bps) at every Upbit print that has a Binance print at the same time."""
    binance_at = dict(zip(binance.ts, binance.px, strict=True))
    values = []
    for ts, u in zip(upbit.ts, upbit.px, strict=True):
        b = binance_at.get(ts)
        rate = fx.at(ts)
        if b is not None and rate is not None:
            values.append(premium_bps(u, b, rate))
    if not values:
        return {"samples": 0}
    q = Decimal("0.01")
    return {
        "samples": len(values),
        "mean": str((sum(values, Decimal(0)) / len(values)).quantize(q)),
        "p5": str(_pct(values, 0.05).quantize(q)),
        "p50": str(_pct(values, 0.50).quantize(q)),
        "p95": str(_pct(values, 0.95).quantize(q)),
        "min": str(min(values).quantize(q)),
        "max": str(max(values).quantize(q)),
    }


def equity_curve(
    fills: list[FillRecord],
    marks: dict[str, PriceSeries],
    fx: PriceSeries,
    capital_krw: Decimal,
    clock: list[int],
) -> list[tuple[int, Decimal]]:
    """
    Combined KRW equity at each time of ``clock``: capital + cash flows so far (FX at fill time) + base the
    strategy holds on each venue marked at that venue's price (USDT prices through the FX rate then).
    """
    out = []
    flows = Decimal(0)
    held: dict[str, Decimal] = {}
    i = 0
    for ts in clock:
        while i < len(fills) and fills[i].ts_event <= ts:
            f = fills[i]
            flows += f.to_krw(f.cash_flow_quote)
            held[f.instrument_id] = held.get(f.instrument_id, Decimal(0)) + f.signed_qty
            i += 1
        marked = Decimal(0)
        for iid, qty in held.items():
            px = marks[iid].at(ts)
            if qty and px is not None:
                rate = fx.at(ts) or Decimal(0)
                marked += qty * (px if iid.endswith(".UPBIT") else px * rate)
        out.append((ts, capital_krw + flows + marked))
    return out


def drawdown(curve: list[tuple[int, Decimal]]) -> tuple[Decimal, Decimal]:
    """Largest peak-to-trough fall of ``curve``: (KRW, fraction of the peak)."""
    peak = None
    worst = Decimal(0)
    worst_frac = Decimal(0)
    for _, value in curve:
        peak = value if peak is None or value > peak else peak
        fall = peak - value
        if fall > worst:
            worst = fall
            worst_frac = fall / peak if peak else Decimal(0)
    return worst, worst_frac


def capital_krw(settings: Any, marks: dict[str, PriceSeries], fx: PriceSeries, start: int) -> Decimal:
    """Starting balances in KRW: a base asset at its pair's first Upbit price, USDT at the first FX rate."""
    rate = fx.at(start) or (fx.px[0] if fx.px else Decimal(0))
    base_px = {
        p.upbit.split(".")[0].removeprefix("KRW-"): marks[p.upbit].px[0]
        for p in settings.strategy.pairs
        if marks[p.upbit].px
    }
    total = Decimal(0)
    for balances in settings.backtest.starting_balances.values():
        for item in balances:
            amount, code = item.split(" ", 1)
            value = Decimal(amount)
            if code == "KRW":
                total += value
            elif code == "USDT":
                total += value * rate
            elif code in base_px:
                total += value * base_px[code]
            elif value:
                raise ValueError(f"starting balance {item!r}: no pair prices {code} in KRW")
    return total
