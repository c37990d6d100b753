"""``arb catalog``: build the ParquetDataCatalog from CSVs, import Tardis files."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from arb_plugin.errors import DataError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("catalog", help="build or extend a ParquetDataCatalog")
    sub = p.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)

    b = sub.add_parser(
        "build",
        help="import 1-minute OHLCV CSVs (Upbit, Binance) and a daily USD/KRW CSV",
        description="Import 1-minute OHLCV CSVs (gzip or not, BOM or not) as Bars per venue and the daily USD/KRW "
        "series as the KRW-USDT.UPBIT FX bars.",
    )
    b.add_argument(
        "--source", type=Path, default=None, help="folder with upbit/, binance/, fx/ (e.g. ../shared/data/market)"
    )
    b.add_argument("--upbit", type=Path, nargs="+", default=None, help="Upbit KRW-BTC 1-minute CSV file(s)")
    b.add_argument("--binance", type=Path, nargs="+", default=None, help="Binance BTCUSDT 1-minute CSV file(s)")
    b.add_argument("--fx", type=Path, default=None, help="daily USD/KRW CSV (date,krw_usd)")
    b.add_argument("--out", type=Path, required=True, help="catalog folder to write")
    b.add_argument("--start", type=_date, default=None, help="first day (UTC, inclusive)")
    b.add_argument("--end", type=_date, default=None, help="last day (UTC, inclusive)")
    b.add_argument("--overlap-only", action="store_true", help="keep only minutes both venues have")
    b.add_argument("--sample", action="store_true", help="the shipped sample's window (overrides --start/--end)")
    b.add_argument("--overwrite", action="store_true", help="replace an existing catalog at --out")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=build)

    t = sub.add_parser("import-tardis", help="load Tardis CSV files with NautilusTrader's TardisCSVDataLoader")
    t.add_argument(
        "files", type=Path, nargs="+", help="Tardis CSV files (quotes, trades, incremental_book_L2, book_snapshot_*)"
    )
    t.add_argument("--catalog", type=Path, required=True, help="catalog folder to write into")
    t.add_argument("--instrument-id", default=None, help="override the instrument id (e.g. BTCUSDT.BINANCE)")
    t.add_argument("--price-precision", type=int, default=None)
    t.add_argument("--size-precision", type=int, default=None)
    t.set_defaults(func=tardis)


def build(args: argparse.Namespace) -> int:
    from arb_plugin.catalog import SHIPPED_SAMPLE
    from arb_plugin.catalog import CatalogSpec
    from arb_plugin.catalog import build_catalog
    from arb_plugin.catalog import find_sources

    if args.source is not None:
        upbit, binance, fx = find_sources(args.source)
    else:
        upbit, binance, fx = args.upbit, args.binance, args.fx
        missing = [name for name, v in (("--upbit", upbit), ("--binance", binance), ("--fx", fx)) if not v]
        if missing:
            raise DataError(f"give --source DIR, or all of --upbit, --binance and --fx (missing {', '.join(missing)})")
    for path in [*upbit, *binance, fx]:
        if not Path(path).is_file():
            raise DataError(f"{path}: file not found")
    spec = SHIPPED_SAMPLE if args.sample else CatalogSpec(args.start, args.end, args.overlap_only)
    summary = build_catalog(args.out, upbit, binance, fx, spec, overwrite=args.overwrite, progress=not args.no_progress)
    print(f"catalog {args.out}:")
    for bar_type, n in summary.bars.items():
        print(f"  {bar_type}: {n} bars")
    return 0


def tardis(args: argparse.Namespace) -> int:
    from arb_plugin.catalog import import_tardis

    written = import_tardis(args.files, args.catalog, args.instrument_id, args.price_precision, args.size_precision)
    print(f"catalog {args.catalog}:")
    for key, n in written.items():
        print(f"  {key}: {n} records")
    return 0
