"""
Importers into a NautilusTrader ``ParquetDataCatalog``.

- 1-minute OHLCV CSVs (``timestamp,open,high,low,close,volume``; gzip or not, UTF-8 BOM or not; the
  timestamp is the bar's open in naive UTC) become ``Bar`` objects of ``{instrument}-1-MINUTE-LAST-EXTERNAL``
  stamped at the bar's **close** (open + 1 minute), so a backtest never sees a bar before it ended.
- A daily USD/KRW CSV (``date,krw_usd``) becomes ``KRW-USDT.UPBIT-1-DAY-LAST-EXTERNAL`` bars, the FX proxy,
  stamped at the **end** of their day (00:00 UTC of the next day): a day's rate is only used once known.
- Tardis CSV files go through NautilusTrader's ``TardisCSVDataLoader``.

Numbers are read as decimal strings and converted exactly (never through float); a value that does not fit
the instrument's precision is an error, except the FX proxy, whose file carries float artifacts
(``1234.8000000000002``) and is rounded half-even to 4 decimals.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import ROUND_HALF_EVEN
from decimal import Decimal
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import FIXED_PRECISION
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from arb_plugin.errors import DataError
from arb_plugin.instruments import FX_PROXY_PRECISION
from arb_plugin.instruments import btcusdt_binance
from arb_plugin.instruments import default_instruments
from arb_plugin.instruments import fx_proxy_instrument
from arb_plugin.instruments import krw_btc_upbit

MINUTE_BAR_SPEC = "1-MINUTE-LAST-EXTERNAL"
DAY_BAR_SPEC = "1-DAY-LAST-EXTERNAL"
OHLCV_HEADER = ("timestamp", "open", "high", "low", "close", "volume")
FX_HEADER = ("date", "krw_usd")
_NS = 1_000_000_000
_MINUTE_NS = 60 * _NS


@dataclass(frozen=True, slots=True)
class OhlcvRow:
    """One 1-minute bar as read: open time (ns, UTC) and exact decimal values."""

    ts_open: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class CatalogSpec:
    """What to import: a date window (inclusive, UTC) and whether to keep only minutes both venues have."""

    start: date | None = None
    end: date | None = None
    overlap_only: bool = False


# The shipped sample (catalog/): late Nov - mid Dec 2024, the Upbit file's 200-minute windows where both
# venues have data. It spans both premium regimes (negative late Nov, the 3 Dec 2024 martial-law spike,
# positive mid Dec), so the backtest trades in both directions.
SHIPPED_SAMPLE = CatalogSpec(start=date(2024, 11, 20), end=date(2024, 12, 14), overlap_only=True)


@dataclass
class BuildSummary:
    """What a catalog build wrote."""

    bars: dict[str, int] = field(default_factory=dict)
    first_ts: int | None = None
    last_ts: int | None = None

    def add(self, bar_type: str, bars: list[Bar]) -> None:
        self.bars[bar_type] = self.bars.get(bar_type, 0) + len(bars)
        if bars:
            self.first_ts = min(self.first_ts or bars[0].ts_event, bars[0].ts_event)
            self.last_ts = max(self.last_ts or bars[-1].ts_event, bars[-1].ts_event)


# -- reading ---------------------------------------------------------------------------------------------
def _open_text(path: Path) -> io.TextIOBase:
    with path.open("rb") as f:
        magic = f.read(2)
    raw = gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")  # noqa: SIM115 (returned open)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")  # utf-8-sig drops a BOM when present


def _decimal(text: str, what: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise DataError(f"{where}: {what} {text!r} is not a number") from None
    if not value.is_finite():
        raise DataError(f"{where}: {what} {text!r} is not a finite number")
    return value


def _check_header(header: list[str] | None, expected: tuple[str, ...], path: Path) -> None:
    got = tuple(h.strip().lower() for h in header or [])
    if got != expected:
        raise DataError(f"{path}: header {','.join(got) or '(empty file)'!r} is not {','.join(expected)!r}")


def read_ohlcv_csv(path: Path, first_day: date | None = None, last_day: date | None = None) -> Iterator[OhlcvRow]:
    """
    Read a 1-minute OHLCV CSV (gzip or not, BOM or not), optionally only the rows of some UTC days.

    Raises
    ------
    DataError
        Naming the file, the line and what is wrong.
    """
    path = Path(path)
    lo = first_day.isoformat() if first_day else ""
    hi = last_day.isoformat() if last_day else "9999"
    with _open_text(path) as f:
        reader = csv.reader(f)
        _check_header(next(reader, None), OHLCV_HEADER, path)
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if not row:
                continue
            if not lo <= row[0][:10] <= hi:  # ISO dates compare as text: skip other days before parsing
                continue
            if len(row) != len(OHLCV_HEADER):
                raise DataError(f"{where}: {len(row)} fields, expected {len(OHLCV_HEADER)}")
            try:
                opened = datetime.strptime(row[0].strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            except ValueError:
                raise DataError(f"{where}: timestamp {row[0]!r} is not 'YYYY-MM-DD HH:MM:SS'") from None
            o, h, low, c, v = (_decimal(x, name, where) for x, name in zip(row[1:], OHLCV_HEADER[1:], strict=True))
            if not (low <= min(o, c) and h >= max(o, c) and low > 0):
                raise DataError(f"{where}: inconsistent prices open={o} high={h} low={low} close={c}")
            if v < 0:
                raise DataError(f"{where}: negative volume {v}")
            yield OhlcvRow(int(opened.timestamp()) * _NS, o, h, low, c, v)


def read_fx_csv(path: Path) -> Iterator[tuple[date, Decimal]]:
    """Read a daily ``date,krw_usd`` CSV; values rounded half-even to the proxy's 4 decimals."""
    path = Path(path)
    quantum = Decimal(1).scaleb(-FX_PROXY_PRECISION)
    with _open_text(path) as f:
        reader = csv.reader(f)
        _check_header(next(reader, None), FX_HEADER, path)
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if not row:
                continue
            if len(row) != 2:
                raise DataError(f"{where}: {len(row)} fields, expected 2")
            try:
                day = date.fromisoformat(row[0].strip())
            except ValueError:
                raise DataError(f"{where}: date {row[0]!r} is not YYYY-MM-DD") from None
            rate = _decimal(row[1], "krw_usd", where)
            if rate <= 0:
                raise DataError(f"{where}: rate {rate} must be positive")
            yield day, rate.quantize(quantum, rounding=ROUND_HALF_EVEN)


# -- converting ------------------------------------------------------------------------------------------
def _exact(value: Decimal, precision: int, what: str, where: str, make: type[Price] | type[Quantity]) -> object:
    if value != value.quantize(Decimal(1).scaleb(-precision)):
        raise DataError(f"{where}: {what} {value} has more than {precision} decimals")
    return make.from_raw(int(value.scaleb(FIXED_PRECISION)), precision)


def ohlcv_to_bars(rows: Iterable[OhlcvRow], instrument: Instrument, source: str = "") -> list[Bar]:
    """Convert rows to bars stamped at the bar's close (open + 1 minute), in time order, without duplicates."""
    bar_type = BarType.from_str(f"{instrument.id}-{MINUTE_BAR_SPEC}")
    pp, sp = instrument.price_precision, instrument.size_precision
    bars: list[Bar] = []
    last = -1
    for row in rows:
        where = f"{source or instrument.id} @ {row.ts_open}"
        if row.ts_open <= last:
            raise DataError(f"{where}: timestamps must increase (after {last})")
        last = row.ts_open
        ts = row.ts_open + _MINUTE_NS
        bars.append(
            Bar(
                bar_type,
                _exact(row.open, pp, "open", where, Price),
                _exact(row.high, pp, "high", where, Price),
                _exact(row.low, pp, "low", where, Price),
                _exact(row.close, pp, "close", where, Price),
                _exact(row.volume, sp, "volume", where, Quantity),
                ts,
                ts,
            ),
        )
    return bars


def fx_to_bars(rows: Iterable[tuple[date, Decimal]], instrument: Instrument) -> list[Bar]:
    """Daily rates to 1-day bars stamped at the end of their day (next day 00:00 UTC)."""
    bar_type = BarType.from_str(f"{instrument.id}-{DAY_BAR_SPEC}")
    bars = []
    for day, rate in rows:
        ts = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + 86_400) * _NS
        price = Price.from_raw(int(rate.scaleb(FIXED_PRECISION)), instrument.price_precision)
        bars.append(Bar(bar_type, price, price, price, price, Quantity.from_raw(0, instrument.size_precision), ts, ts))
    return bars


# -- building ----------------------------------------------------------------------------------------------
def find_sources(market_dir: Path) -> tuple[list[Path], list[Path], Path]:
    """Locate ``upbit/*.csv[.gz]``, ``binance/*.csv[.gz]`` and ``fx/*.csv`` under ``market_dir``."""
    market_dir = Path(market_dir)
    upbit = sorted((market_dir / "upbit").glob("*.csv*"))
    binance = sorted((market_dir / "binance").glob("*.csv*"))
    fx = sorted((market_dir / "fx").glob("*.csv*"))
    missing = [name for name, files in (("upbit", upbit), ("binance", binance), ("fx", fx)) if not files]
    if missing:
        raise DataError(f"{market_dir}: no CSV files under {', '.join(missing)}/")
    if len(fx) > 1:
        raise DataError(f"{market_dir}/fx: {len(fx)} files, expected one daily USD/KRW series")
    return upbit, binance, fx[0]


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="file", disable=not enabled, leave=False)


def _read_all(paths: list[Path], spec: CatalogSpec, desc: str, progress: bool) -> list[OhlcvRow]:
    rows: list[OhlcvRow] = []
    with _progress(len(paths), desc, progress) as bar:
        for path in paths:
            rows.extend(read_ohlcv_csv(path, spec.start, spec.end))
            bar.update(1)
    rows.sort(key=lambda r: r.ts_open)
    return rows


def build_catalog(
    out: Path,
    upbit_files: list[Path],
    binance_files: list[Path],
    fx_file: Path,
    spec: CatalogSpec = CatalogSpec(),
    overwrite: bool = False,
    progress: bool = True,
) -> BuildSummary:
    """
    Import the CSVs into a ``ParquetDataCatalog`` at ``out``: instruments, 1-minute bars per venue, FX bars.

    Raises
    ------
    DataError
        On a malformed input, or when ``out`` already holds data and ``overwrite`` is not set.
    """
    out = Path(out)
    if out.exists() and any((out / "data").glob("*")) and not overwrite:
        raise DataError(f"{out} already holds a catalog; pass overwrite to replace it")
    upbit_rows = _read_all(list(upbit_files), spec, "upbit", progress)
    binance_rows = _read_all(list(binance_files), spec, "binance", progress)
    if spec.overlap_only:
        both = {r.ts_open for r in upbit_rows} & {r.ts_open for r in binance_rows}
        upbit_rows = [r for r in upbit_rows if r.ts_open in both]
        binance_rows = [r for r in binance_rows if r.ts_open in both]
    if not upbit_rows or not binance_rows:
        raise DataError(f"no bars left for the window {spec.start}..{spec.end} (overlap_only={spec.overlap_only})")
    first_day = datetime.fromtimestamp(min(upbit_rows[0].ts_open, binance_rows[0].ts_open) / _NS, tz=UTC).date()
    last_day = datetime.fromtimestamp(max(upbit_rows[-1].ts_open, binance_rows[-1].ts_open) / _NS, tz=UTC).date()
    # FX: from a week before the first bar (a rate must be known at the start) to the last bar's day
    fx_rows = [(d, r) for d, r in read_fx_csv(fx_file) if first_day - timedelta(days=7) <= d <= last_day]

    if (out / "data").exists() and overwrite:
        import shutil

        shutil.rmtree(out / "data")  # the catalog's data only: files beside it (SOURCES.md) stay
    out.mkdir(parents=True, exist_ok=True)
    catalog = ParquetDataCatalog(str(out))
    catalog.write_data(default_instruments())
    summary = BuildSummary()
    with _progress(3, "write", progress) as bar:
        for instrument, rows, source in (
            (krw_btc_upbit(), upbit_rows, "upbit"),
            (btcusdt_binance(), binance_rows, "binance"),
        ):
            bars = ohlcv_to_bars(rows, instrument, source)
            catalog.write_data(bars)
            summary.add(str(bars[0].bar_type), bars)
            bar.update(1)
        fx_bars = fx_to_bars(fx_rows, fx_proxy_instrument())
        if not fx_bars:
            raise DataError(f"{fx_file}: no rates for {first_day}..{last_day}")
        catalog.write_data(fx_bars)
        summary.add(str(fx_bars[0].bar_type), fx_bars)
        bar.update(1)
    return summary


# -- Tardis ------------------------------------------------------------------------------------------------
_OUR_INSTRUMENTS = {i.id.value: i for i in default_instruments()}


def tardis_kind(path: Path) -> tuple[str, int]:
    """
    Tell a Tardis CSV's data type from its header: ``(kind, levels)``.

    Kinds: ``quotes``, ``trades``, ``incremental_book_L2``, ``book_snapshot`` (with its number of levels).
    """
    with _open_text(Path(path)) as f:
        header = [h.strip() for h in (f.readline().strip().split(","))]
    cols = set(header)
    base = {"exchange", "symbol", "timestamp", "local_timestamp"}
    if not base <= cols:
        raise DataError(f"{path}: not a Tardis CSV (header lacks {', '.join(sorted(base - cols))})")
    if {"ask_amount", "ask_price", "bid_price", "bid_amount"} <= cols:
        return "quotes", 1
    if {"id", "side", "price", "amount"} <= cols:
        return "trades", 0
    if {"is_snapshot", "side", "price", "amount"} <= cols:
        return "incremental_book_L2", 0
    levels = sum(1 for h in header if h.startswith("asks[") and h.endswith("].price"))
    if levels:
        return "book_snapshot", levels
    raise DataError(f"{path}: unknown Tardis data type (header: {','.join(header)})")


def import_tardis(
    paths: list[Path],
    catalog_dir: Path,
    instrument_id: str | None = None,
    price_precision: int | None = None,
    size_precision: int | None = None,
) -> dict[str, int]:
    """
    Load Tardis CSV files with NautilusTrader's ``TardisCSVDataLoader`` into a catalog.

    For one of our instruments (``BTCUSDT.BINANCE``, ``KRW-BTC.UPBIT``, ...) the precisions default to the
    instrument's, so the data matches it (reference §9 P1). ``book_snapshot_25`` becomes
    ``OrderBookDepth10``; a snapshot with fewer than 10 levels cannot be written as depth (its padding has
    another precision, reference §9 P9) and becomes top-of-book ``QuoteTick`` from its first level.

    Returns
    -------
    dict[str, int]
        Records written per ``{kind} {instrument_id}``.
    """
    from nautilus_trader.adapters.tardis.loaders import TardisCSVDataLoader
    from nautilus_trader.model.data import QuoteTick
    from nautilus_trader.model.identifiers import InstrumentId

    catalog = ParquetDataCatalog(str(catalog_dir))
    ours = _OUR_INSTRUMENTS.get(instrument_id or "")
    loader = TardisCSVDataLoader(
        price_precision=price_precision if price_precision is not None else (ours.price_precision if ours else None),
        size_precision=size_precision if size_precision is not None else (ours.size_precision if ours else None),
        instrument_id=InstrumentId.from_str(instrument_id) if instrument_id else None,
    )
    written: dict[str, int] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        kind, levels = tardis_kind(path)
        records: list
        if kind == "quotes":
            records = loader.load_quotes(str(path))
        elif kind == "trades":
            records = loader.load_trades(str(path))
        elif kind == "incremental_book_L2":
            records = loader.load_deltas(str(path))
        elif levels >= 10:
            records = loader.load_depth10(str(path), levels=levels)
        else:
            depth = loader.load_depth10(str(path), levels=levels)
            kind = f"quotes (level 0 of book_snapshot_{levels})"
            records = [
                QuoteTick(
                    d.instrument_id,
                    d.bids[0].price,
                    d.asks[0].price,
                    d.bids[0].size,
                    d.asks[0].size,
                    d.ts_event,
                    d.ts_init,
                )
                for d in depth
            ]
        if not records:
            raise DataError(f"{path}: no records")
        for instrument in {r.instrument_id for r in records}:
            if instrument.value in _OUR_INSTRUMENTS and not catalog.instruments(instrument_ids=[instrument.value]):
                catalog.write_data([_OUR_INSTRUMENTS[instrument.value]])
        catalog.write_data(records)
        key = f"{kind} {records[0].instrument_id}"
        written[key] = written.get(key, 0) + len(records)
    return written
