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

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.identifiers import Venue

from arb_plugin.nodes.backtest import BacktestOutcome
from arb_plugin.report.figures import capital_krw
from arb_plugin.report.figures import drawdown
from arb_plugin.report.figures import equity_curve
from arb_plugin.report.figures import premium_stats
from arb_plugin.report.fills import collect_fills
from arb_plugin.report.fills import iso_time
from arb_plugin.report.fills import write_fills_csv
from arb_plugin.report.fills import write_positions_csv
from arb_plugin.report.series import load_series
from arb_plugin.report.tearsheet import write_tearsheet

KRW_Q = Decimal(1)
USDT_Q = Decimal("0.00000001")


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

    capital = capital_krw(settings, marks, fx, start)
    clock = sorted({ts for p in pairs for ts in marks[p.upbit].ts}) or [end]
    curve = equity_curve(fills, marks, fx, capital, clock)
    dd_krw, dd_frac = drawdown(curve)
    counters = strategy.report_counters()
    open_pairs = [s for s, snap in strategy.pair_snapshots().items() if snap.status.value != "FLAT"]
    summary: dict[str, Any] = {
        "run": {
            "catalog": str(cat),
            "start": iso_time(start),
            "end": iso_time(end),
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
        write_tearsheet(curve, capital, summary, out_dir / "tearsheet.html")
    return summary


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
