"""``arb backtest``: run the strategy in a NautilusTrader BacktestNode on a catalog and write a report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "backtest",
        help="backtest on a ParquetDataCatalog (default: the shipped catalog/) and write a report",
        description="Run ArbitrageStrategy in a BacktestNode; print a summary; write summary.json, fills.csv, "
        "positions.csv and tearsheet.html.",
    )
    p.add_argument("--config", type=Path, default=None, help="a settings TOML file (default: config/{env}.toml)")
    p.add_argument("--catalog", type=Path, default=None, help="catalog folder (default: backtest.catalog)")
    p.add_argument("--start", default=None, help="start time, UTC (e.g. 2024-12-01 or 2024-12-01T09:00)")
    p.add_argument("--end", default=None, help="end time, UTC")
    p.add_argument("--out", type=Path, default=None, help="report folder (default: backtest.out)")
    p.add_argument("--no-tearsheet", action="store_true", help="skip the HTML tearsheet")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from arb_plugin.nodes.backtest import run_backtest
    from arb_plugin.report import build_report
    from arb_plugin.report import format_summary
    from arb_plugin.settings import load_settings

    settings = _load(args, load_settings)
    out = Path(args.out or settings.backtest.out)
    outcome = run_backtest(settings, args.catalog, args.start, args.end, progress=not args.no_progress)
    try:
        summary = build_report(outcome, out, tearsheet=not args.no_tearsheet)
    finally:
        outcome.dispose()
    print("\narb backtest: Binance x Upbit arbitrage (NautilusTrader BacktestNode)")
    print(format_summary(summary))
    files = ["summary.json", "fills.csv", "positions.csv"] + ([] if args.no_tearsheet else ["tearsheet.html"])
    print(f"\nreport: {', '.join(str(out / f) for f in files)}")
    return 0


def _load(args: argparse.Namespace, load_settings: Any) -> Any:
    return load_settings(args.env, args.config_dir, config_file=args.config)
