"""Catalog: the shipped sample rebuilds from the shared data; round trip; Tardis import; CLI errors."""

import subprocess
import sys
from pathlib import Path

import pytest
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from arb_plugin.catalog import SHIPPED_SAMPLE
from arb_plugin.catalog import build_catalog
from arb_plugin.catalog import find_sources
from arb_plugin.catalog import import_tardis
from arb_plugin.errors import DataError
from arb_plugin.instruments import default_instruments

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "catalog"
BAR_TYPES = (
    "BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL",
    "KRW-BTC.UPBIT-1-MINUTE-LAST-EXTERNAL",
    "KRW-USDT.UPBIT-1-DAY-LAST-EXTERNAL",
)


def bars(path: Path, bar_type: str):
    return ParquetDataCatalog(str(path)).bars(bar_types=[bar_type])


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory, market_dir):
    out = tmp_path_factory.mktemp("sample")
    upbit, binance, fx = find_sources(market_dir)
    build_catalog(out, upbit, binance, fx, SHIPPED_SAMPLE, progress=False)
    return out


def test_shipped_sample_is_small():
    size = sum(f.stat().st_size for f in SHIPPED.rglob("*") if f.is_file())
    assert size < 5 * 1024 * 1024


@pytest.mark.parametrize("bar_type", BAR_TYPES)
def test_shipped_sample_equals_a_rebuild_from_shared_data(rebuilt, bar_type):
    ours, shipped = bars(rebuilt, bar_type), bars(SHIPPED, bar_type)
    assert len(shipped) > 0
    assert ours == shipped  # Bar equality: type, OHLCV and timestamps, bar for bar


def test_shipped_instruments_equal_the_definitions():
    shipped = {i.id.value: i for i in ParquetDataCatalog(str(SHIPPED)).instruments()}
    for inst in default_instruments():
        got = shipped[inst.id.value]
        assert (got.price_precision, got.size_precision, got.price_increment, got.taker_fee, got.min_notional) == (
            inst.price_precision,
            inst.size_precision,
            inst.price_increment,
            inst.taker_fee,
            inst.min_notional,
        )


def test_sample_keeps_only_overlapping_minutes():
    upbit = {b.ts_event for b in bars(SHIPPED, BAR_TYPES[1])}
    binance = {b.ts_event for b in bars(SHIPPED, BAR_TYPES[0])}
    assert upbit == binance and len(upbit) == 7200


def test_refuses_to_overwrite_without_flag(rebuilt, market_dir):
    upbit, binance, fx = find_sources(market_dir)
    with pytest.raises(DataError, match="already holds a catalog"):
        build_catalog(rebuilt, upbit, binance, fx, SHIPPED_SAMPLE, progress=False)
    assert len(bars(rebuilt, BAR_TYPES[0])) == 7200  # nothing lost


def test_tardis_import(tmp_path, market_dir):
    tardis = market_dir / "nautilus_test_data" / "tardis"
    written = import_tardis(
        [
            tardis / "huobi-dm-swap_quotes_BTC-USD.csv",
            tardis / "binance-futures_book_snapshot_25_BTCUSDT.csv",
            tardis / "binance-futures_book_snapshot_5_BTCUSDT.csv",
        ],
        tmp_path,
    )
    assert written == {
        "quotes BTC-USD.HUOBI_DELIVERY": 10,
        "book_snapshot BTCUSDT.BINANCE": 10,
        "quotes (level 0 of book_snapshot_5) BTCUSDT.BINANCE": 10,
    }
    cat = ParquetDataCatalog(str(tmp_path))
    quotes = cat.quote_ticks(instrument_ids=["BTCUSDT.BINANCE"])
    assert len(quotes) == 10 and str(quotes[0].bid_price) == "11657.07" and str(quotes[0].ask_price) == "11657.08"
    from nautilus_trader.model.data import OrderBookDepth10

    assert len(cat.query(OrderBookDepth10)) == 10


def test_tardis_with_our_instrument_gets_its_precision(tmp_path, market_dir):
    path = market_dir / "nautilus_test_data" / "tardis" / "binance-futures_book_snapshot_5_BTCUSDT.csv"
    import_tardis([path], tmp_path, instrument_id="BTCUSDT.BINANCE")
    quote = ParquetDataCatalog(str(tmp_path)).quote_ticks(instrument_ids=["BTCUSDT.BINANCE"])[0]
    assert quote.bid_price.precision == 8  # matches BTCUSDT.BINANCE (reference §9 P1)
    assert [i.id.value for i in ParquetDataCatalog(str(tmp_path)).instruments()] == ["BTCUSDT.BINANCE"]


def test_tardis_rejects_non_tardis_csv(tmp_path, market_dir):
    with pytest.raises(DataError, match="not a Tardis CSV"):
        import_tardis([market_dir / "fx" / "usdkrw_ecos_daily_20220811_20251214.csv"], tmp_path)


def arb(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "arb_plugin.cli", *args], capture_output=True, text=True, cwd=REPO)


def test_cli_catalog_build_and_import(tmp_path, market_dir):
    out = tmp_path / "cat"
    r = arb(
        "catalog",
        "build",
        "--source",
        str(market_dir),
        "--out",
        str(out),
        "--start",
        "2024-12-03",
        "--end",
        "2024-12-03",
        "--overlap-only",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    assert "KRW-BTC.UPBIT-1-MINUTE-LAST-EXTERNAL: 308 bars" in r.stdout
    r = arb(
        "catalog",
        "import-tardis",
        str(market_dir / "nautilus_test_data/tardis/huobi-dm-swap_quotes_BTC-USD.csv"),
        "--catalog",
        str(out),
    )
    assert r.returncode == 0 and "quotes BTC-USD.HUOBI_DELIVERY: 10 records" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["catalog", "build", "--out", "x"], "give --source DIR, or all of --upbit, --binance and --fx"),
        (["catalog", "build", "--source", "/nonexistent", "--out", "x"], "no CSV files under upbit, binance, fx"),
        (["catalog", "build", "--source", ".", "--out", "x", "--start", "2024-13-01"], "'2024-13-01' is not a date"),
        (["catalog", "import-tardis", "/nope.csv", "--catalog", "x"], "/nope.csv: file not found"),
    ],
)
def test_cli_bad_arguments(args, message):
    r = arb(*args)
    assert r.returncode == 2 and message in r.stderr


def test_overwrite_replaces_data_and_keeps_other_files(tmp_path, market_dir):
    upbit, binance, fx = find_sources(market_dir)
    from datetime import date

    from arb_plugin.catalog import CatalogSpec

    spec = CatalogSpec(date(2024, 12, 3), date(2024, 12, 3), overlap_only=True)
    build_catalog(tmp_path, upbit, binance, fx, spec, progress=False)
    (tmp_path / "SOURCES.md").write_text("provenance")
    build_catalog(tmp_path, upbit, binance, fx, spec, overwrite=True, progress=False)
    assert (tmp_path / "SOURCES.md").read_text() == "provenance"
    assert len(bars(tmp_path, BAR_TYPES[0])) == 308
