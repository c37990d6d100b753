"""
Backtest report: summary, ``fills.csv``, ``positions.csv`` and an HTML tearsheet of the combined KRW equity.

Money is exact (``Decimal`` from the fills' ``Price``/``Quantity``/``Money``). Two PnL views, both named:

- **Cash-flow PnL, FX at fill time** (the headline): every fill's quote cash flow (``+`` sell, ``-`` buy,
  minus fees) converted to KRW with the USDT/KRW rate in force when it filled, plus base left on a venue
  marked at the end. It is what ``fills.csv`` adds up to.
- **NautilusTrader realized PnL**: the portfolio's per-venue position PnL, converted with the final mark
  xrate (``PortfolioConfig(use_mark_xrates=True)``, reference §4); shown as a cross-check.

NautilusTrader's own result statistics cover only the last venue of a multi-venue run (reference §9 P6),
so the tearsheet is built from our combined KRW equity: starting capital plus cumulative PnL (inventory
revaluation of the pre-funded balances is excluded and reported separately).
"""

from __future__ import annotations

import bisect
import csv
import json
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.orders import Order
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from arb_plugin.events import parse_order_tags
from arb_plugin.nodes.backtest import BacktestOutcome
from arb_plugin.spread import premium_bps

_NS = 1_000_000_000
KRW_Q = Decimal(1)
USDT_Q = Decimal("0.00000001")


# -- market series ---------------------------------------------------------------------------------------
@dataclass
class PriceSeries:
    """A time series of exact prices (bar closes or quote mids), looked up as of a time."""

    ts: list[int]
    px: list[Decimal]

    def at(self, ts: int) -> Decimal | None:
        """The last price stamped at or before ``ts``."""
        i = bisect.bisect_right(self.ts, ts)
        return self.px[i - 1] if i else None

    @property
    def last(self) -> Decimal | None:
        return self.px[-1] if self.px else None


def load_series(catalog_path: Path, instrument_id: str, kind: str, spec: str, start: int, end: int) -> PriceSeries:
    """Load bar closes (``kind="bars"``, bar spec ``spec``) or quote mids of one instrument from the catalog."""
    catalog = ParquetDataCatalog(str(catalog_path))
    if kind == "bars":
        bars: list[Bar] = catalog.bars(bar_types=[f"{instrument_id}-{spec}"], end=end)
        return PriceSeries([b.ts_init for b in bars], [b.close.as_decimal() for b in bars])
    quotes: list[QuoteTick] = catalog.quote_ticks(instrument_ids=[instrument_id], start=start, end=end)
    return PriceSeries(
        [q.ts_init for q in quotes],
        [(q.bid_price.as_decimal() + q.ask_price.as_decimal()) / 2 for q in quotes],
    )


# -- fills -----------------------------------------------------------------------------------------------
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
                    _iso(x.ts_event),
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


# -- figures ---------------------------------------------------------------------------------------------
def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts / _NS, tz=UTC).isoformat().replace("+00:00", "Z")


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


# -- report ----------------------------------------------------------------------------------------------
def build_report(outcome: BacktestOutcome, out_dir: Path, tearsheet: bool = True) -> dict[str, Any]:
    """Write ``summary.json``, ``fills.csv``, ``positions.csv`` and ``tearsheet.html``; return the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = outcome.settings
    data = settings.backtest.data
    engine = outcome.engine
    strategy = outcome.strategy
    pairs = settings.strategy.pairs
    fx_ids = {p.fx for p in pairs}
    if len(fx_ids) != 1:
        raise ValueError(f"the report converts with one USDT/KRW rate; the pairs use {sorted(fx_ids)}")
    fx_id = pairs[0].fx
    cat, start, end = outcome.catalog_path, outcome.start_ns, outcome.end_ns
    fx = load_series(cat, fx_id, data.fx_data, data.fx_bar_spec, start, end)
    marks = {
        iid: load_series(cat, iid, data.market_data, data.bar_spec, start, end)
        for p in settings.strategy.pairs
        for iid in (p.binance, p.upbit)
    }
    fills = collect_fills(engine.cache.orders(), fx)
    write_fills_csv(fills, out_dir / "fills.csv")
    n_positions = write_positions_csv(outcome, out_dir / "positions.csv")

    end_fx = fx.at(end) or Decimal(0)
    venues: dict[str, Any] = {}
    total_krw = Decimal(0)
    total_usdt = Decimal(0)
    for venue in ("BINANCE", "UPBIT"):
        vf = [f for f in fills if f.venue == venue]
        quote = "USDT" if venue == "BINANCE" else "KRW"
        fees = sum((f.fee_quote for f in vf), Decimal(0))
        flow = sum((f.cash_flow_quote for f in vf), Decimal(0))
        flow_krw = sum((f.to_krw(f.cash_flow_quote) for f in vf), Decimal(0))
        flow_usdt = sum((f.to_usdt(f.cash_flow_quote) for f in vf), Decimal(0))
        held: dict[str, Decimal] = {}
        for f in vf:
            held[f.instrument_id] = held.get(f.instrument_id, Decimal(0)) + f.signed_qty
        mark_quote = sum(
            (qty * (marks[iid].at(end) or Decimal(0)) for iid, qty in held.items() if qty),
            Decimal(0),
        )
        mark_krw = mark_quote if quote == "KRW" else mark_quote * end_fx
        mark_usdt = mark_quote if quote == "USDT" else (mark_quote / end_fx if end_fx else Decimal(0))
        pnl_krw, pnl_usdt = flow_krw + mark_krw, flow_usdt + mark_usdt
        total_krw += pnl_krw
        total_usdt += pnl_usdt
        account = engine.portfolio.account(Venue(venue))
        nt_native = engine.portfolio.realized_pnls(Venue(venue))
        nt_krw = engine.portfolio.realized_pnls(Venue(venue), target_currency=KRW)
        nt_usdt = engine.portfolio.realized_pnls(Venue(venue), target_currency=USDT)
        venues[venue] = {
            "fills": len(vf),
            "fees": f"{fees} {quote}",
            "cash_flow": f"{flow} {quote}",
            "base_held": {iid: str(q) for iid, q in held.items()},
            "pnl": f"{flow + mark_quote} {quote}",
            "pnl_krw": str(pnl_krw.quantize(KRW_Q)),
            "pnl_usdt": str(pnl_usdt.quantize(USDT_Q)),
            "nautilus_realized_pnl": [m.to_formatted_str() for m in nt_native.values()],
            "nautilus_realized_pnl_krw_at_final_mark": [m.to_formatted_str() for m in nt_krw.values()],
            "nautilus_realized_pnl_usdt_at_final_mark": [m.to_formatted_str() for m in nt_usdt.values()],
            "balances_end": {c.code: str(m.as_decimal()) for c, m in account.balances_total().items()},
        }

    capital = _capital_krw(settings, marks, fx, start)
    clock = sorted({ts for p in pairs for ts in marks[p.upbit].ts}) or [end]
    curve = equity_curve(fills, marks, fx, capital, clock)
    dd_krw, dd_frac = drawdown(curve)
    counters = strategy.report_counters()
    open_pairs = [s for s, snap in strategy.pair_snapshots().items() if snap.status.value != "FLAT"]
    summary: dict[str, Any] = {
        "run": {
            "catalog": str(cat),
            "start": _iso(start),
            "end": _iso(end),
            "pairs": [p.model_dump() for p in settings.strategy.pairs],
            "thresholds": {
                "mode": settings.strategy.threshold_mode,
                "entry_bps": str(settings.strategy.entry_threshold_bps),
                "exit_bps": str(settings.strategy.exit_threshold_bps),
            },
            "data_resolution": _data_statement(data.market_data, data.bar_spec, settings.strategy.bar_half_spread_bps),
            "fx_resolution": _fx_statement(fx_id, data.fx_data, data.fx_bar_spec),
            "engine_wall_seconds": round(outcome.wall_seconds, 3),
        },
        "trades": {
            "round_trips": counters["round_trips"],
            "entries": counters["entries"],
            "fills": len(fills),
            "positions": n_positions,
            "open_pairs": open_pairs,
            "leg_risk_events": counters["leg_risk_events"],
            "unwinds": counters["unwinds"],
            "rehedges": counters["rehedges"],
            "dust": counters["dust"],
            "second_leg_skipped": counters["second_leg_skipped"],
            "blocked_stale": counters["stale_blocked"],
            "blocked_fx_stale": counters["fx_stale_blocked"],
            "outliers": counters["outliers"],
            "entries_unsized": counters["entry_unsized"],
        },
        "venues": venues,
        "total": {
            "pnl_krw": str(total_krw.quantize(KRW_Q)),
            "pnl_usdt": str(total_usdt.quantize(USDT_Q)),
            "fx_conversion": "cash flows at the USDT/KRW rate in force at each fill; base held at the end marked "
            f"at the last price and FX {end_fx}",
        },
        "equity": {
            "capital_krw": str(capital.quantize(KRW_Q)),
            "end_krw": str(curve[-1][1].quantize(KRW_Q)) if curve else str(capital),
            "max_drawdown_krw": str(dd_krw.quantize(KRW_Q)),
            "max_drawdown_pct": str((dd_frac * 100).quantize(Decimal("0.0001"))),
            "note": "capital = starting balances valued at the first prices; equity = capital + strategy PnL "
            "(revaluation of the pre-funded inventory excluded)",
        },
        "premium_bps": {p.binance.split(".")[0]: premium_stats(marks[p.upbit], marks[p.binance], fx) for p in pairs},
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    if tearsheet:
        _write_tearsheet(curve, capital, summary, out_dir / "tearsheet.html")
    return summary


def _capital_krw(settings: Any, marks: dict[str, PriceSeries], fx: PriceSeries, start: int) -> Decimal:
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


def _data_statement(kind: str, spec: str, half_spread: Decimal) -> str:
    if kind == "bars":
        return (
            f"{spec} bars: legs priced at the close -/+ an assumed half-spread of {half_spread} bps, and the "
            "simulated venues fill at those prices (HalfSpreadFillModel); no order-book depth"
        )
    return "top-of-book QuoteTicks: legs priced at bid/ask as quoted; fills at the quoted prices"


def _fx_statement(fx_id: str, kind: str, spec: str) -> str:
    if kind == "bars" and "DAY" in spec:
        return (
            f"{fx_id} from daily bars: the Bank of Korea ECOS USD/KRW rate used as a USDT/KRW proxy, each day's "
            "rate applied from the end of its day (00:00 UTC next day), so intraday FX moves and the USDT "
            "premium are not modelled"
        )
    return f"{fx_id} {'bars ' + spec if kind == 'bars' else 'quote mids'}"


def _write_tearsheet(curve: list[tuple[int, Decimal]], capital: Decimal, summary: dict[str, Any], path: Path) -> None:
    from nautilus_trader.analysis.analyzer import PortfolioAnalyzer
    from nautilus_trader.analysis.tearsheet import create_tearsheet_from_stats

    equity = pd.Series(
        [float(v) for _, v in curve],
        index=pd.to_datetime([ts for ts, _ in curve], unit="ns", utc=True),
    )
    daily = equity.resample("1D").last().dropna()
    returns = daily.pct_change().dropna()
    analyzer = PortfolioAnalyzer()
    for ts, value in returns.items():
        analyzer.add_return(ts.to_pydatetime(), float(value))
    pnl = Decimal(summary["total"]["pnl_krw"])
    stats_pnls = {
        "KRW": {
            "PnL (total)": float(pnl),
            "PnL% (total)": float(pnl / capital * 100) if capital else 0.0,
            "Max drawdown (KRW)": float(Decimal(summary["equity"]["max_drawdown_krw"])),
        },
    }
    trades = summary["trades"]
    create_tearsheet_from_stats(
        stats_pnls=stats_pnls,
        stats_returns=analyzer.get_performance_stats_returns(),
        stats_general={"Round trips": trades["round_trips"], "Fills": trades["fills"]},
        returns=returns,
        output_path=str(path),
        title="arb-plugin: Binance x Upbit arbitrage, combined KRW equity",
        run_info={
            "Window": f"{summary['run']['start']} .. {summary['run']['end']}",
            "Data": summary["run"]["data_resolution"],
            "FX": summary["run"]["fx_resolution"],
        },
    )


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a terminal table."""
    run, trades, total, eq, prem = (
        summary["run"],
        summary["trades"],
        summary["total"],
        summary["equity"],
        summary["premium_bps"],
    )
    rows = [
        ("window", f"{run['start']} .. {run['end']}"),
        (
            "thresholds",
            f"{run['thresholds']['mode']} entry {run['thresholds']['entry_bps']} bps, exit "
            f"{run['thresholds']['exit_bps']} bps",
        ),
        (
            "round trips / fills",
            f"{trades['round_trips']} / {trades['fills']} (open pairs: {', '.join(trades['open_pairs']) or 'none'})",
        ),
        (
            "leg risk",
            f"{trades['leg_risk_events']} events, {trades['unwinds']} unwinds, {trades['rehedges']} "
            f"re-hedges, {trades['dust']} dust",
        ),
        (
            "data guards",
            f"{trades['blocked_stale']} evaluations with the legs apart in time, {trades['blocked_fx_stale']} with a "
            f"stale FX rate, {trades['outliers']} outlier prints",
        ),
    ]
    for venue, v in summary["venues"].items():
        rows.append((f"{venue} fills / fees", f"{v['fills']} / {v['fees']}"))
        rows.append((f"{venue} PnL", f"{v['pnl']} = {v['pnl_krw']} KRW = {v['pnl_usdt']} USDT"))
        rows.append(
            (
                f"{venue} NT realized",
                f"{', '.join(v['nautilus_realized_pnl']) or '-'} "
                f"({', '.join(v['nautilus_realized_pnl_krw_at_final_mark']) or '-'} at final mark)",
            )
        )
    rows += [
        ("TOTAL PnL", f"{total['pnl_krw']} KRW = {total['pnl_usdt']} USDT"),
        ("FX conversion", total["fx_conversion"]),
        (
            "capital / max drawdown",
            f"{eq['capital_krw']} KRW / {eq['max_drawdown_krw']} KRW ({eq['max_drawdown_pct']} %)",
        ),
        *(
            (
                f"{symbol} premium (bps)",
                f"mean {p.get('mean')}, p5 {p.get('p5')}, p50 {p.get('p50')}, p95 {p.get('p95')} "
                f"over {p['samples']} samples",
            )
            for symbol, p in prem.items()
        ),
        ("data", run["data_resolution"]),
        ("FX", run["fx_resolution"]),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)
