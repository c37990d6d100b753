"""HTML tearsheet of the combined KRW equity (NautilusTrader's ``create_tearsheet_from_stats``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd


def write_tearsheet(curve: list[tuple[int, Decimal]], capital: Decimal, summary: dict[str, Any], path: Path) -> None:
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
