"""CSV readers: gzip or not, BOM or not, exact decimals, clear errors naming file and line."""

import gzip
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from arb_plugin.catalog import fx_to_bars
from arb_plugin.catalog import ohlcv_to_bars
from arb_plugin.catalog import read_fx_csv
from arb_plugin.catalog import read_ohlcv_csv
from arb_plugin.errors import DataError
from arb_plugin.instruments import btcusdt_binance
from arb_plugin.instruments import fx_proxy_instrument
from arb_plugin.instruments import krw_btc_upbit


def real_lines(path: Path, n: int = 4) -> list[str]:
    """The first lines of a real shared data file, decoded (BOM stripped)."""
    with gzip.open(path, "rt", encoding="utf-8-sig") as f:
        return [f.readline().rstrip("\r\n") for _ in range(n)]


@pytest.fixture
def binance_file(market_dir):
    return market_dir / "binance" / "binance_BTC_USDT_2024_08_1m.csv.gz"


@pytest.fixture
def upbit_file(market_dir):
    return market_dir / "upbit" / "upbit_BTC_KRW_1m_20240824_20250824.csv.gz"


def test_real_binance_file_with_bom_gzip(binance_file):
    with gzip.open(binance_file, "rb") as f:
        assert f.read(3) == b"\xef\xbb\xbf"  # the real file starts with a BOM
    rows = list(read_ohlcv_csv(binance_file))
    assert len(rows) == 31 * 1440
    assert rows[0].open == Decimal("64628.01") and rows[0].volume == Decimal("36.7799")


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("bom", [True, False])
def test_every_encoding_reads_the_same(tmp_path, binance_file, gz, bom):
    text = "\n".join(real_lines(binance_file)) + "\n"
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    path = tmp_path / ("f.csv.gz" if gz else "f.csv")
    path.write_bytes(gzip.compress(data) if gz else data)
    rows = list(read_ohlcv_csv(path))
    assert len(rows) == 3 and rows[0].close == Decimal("64634.01")


def test_upbit_rows_become_bars_stamped_at_the_close(upbit_file):
    rows = [r for _, r in zip(range(2), read_ohlcv_csv(upbit_file))]
    bars = ohlcv_to_bars(rows, krw_btc_upbit())
    assert str(bars[0].bar_type) == "KRW-BTC.UPBIT-1-MINUTE-LAST-EXTERNAL"
    assert bars[0].ts_event == rows[0].ts_open + 60_000_000_000  # 2024-08-24 22:28 opens, 22:29 closes
    assert str(bars[0].open) == "85533000" and str(bars[0].volume) == "1.69129818"


def write(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,open,high,low,close,volume\n", "header 'time,open,high,low,close,volume' is not"),
        ("", "(empty file)"),
        ("timestamp,open,high,low,close,volume\n2024-08-01 00:00:00,1,2,0.5\n", "bad.csv:2: 4 fields, expected 6"),
        ("timestamp,open,high,low,close,volume\n2024/08/01,1,2,0.5,1,1\n", "bad.csv:2: timestamp '2024/08/01'"),
        (
            "timestamp,open,high,low,close,volume\n2024-08-01 00:00:00,1,x,0.5,1,1\n",
            "bad.csv:2: high 'x' is not a number",
        ),
        ("timestamp,open,high,low,close,volume\n2024-08-01 00:00:00,1,0.9,0.5,1,1\n", "bad.csv:2: inconsistent prices"),
        ("timestamp,open,high,low,close,volume\n2024-08-01 00:00:00,1,2,0.5,1,-3\n", "bad.csv:2: negative volume"),
        ("timestamp,open,high,low,close,volume\n2024-08-01 00:00:00,1,2,0.5,1,NaN\n", "is not a finite number"),
    ],
)
def test_bad_ohlcv_input_names_file_and_line(tmp_path, text, message):
    with pytest.raises(DataError) as e:
        list(read_ohlcv_csv(write(tmp_path, text)))
    assert message in str(e.value)


def test_too_many_decimals_for_the_instrument(tmp_path):
    path = write(
        tmp_path, "timestamp,open,high,low,close,volume\n2024-08-01 00:00:00,100.001,100.001,100.001,100.001,1\n"
    )
    with pytest.raises(DataError, match="open 100.001 has more than 0 decimals"):
        ohlcv_to_bars(read_ohlcv_csv(path), krw_btc_upbit())


def test_out_of_order_rows_are_refused(tmp_path):
    path = write(
        tmp_path,
        "timestamp,open,high,low,close,volume\n2024-08-01 00:01:00,1,1,1,1,1\n2024-08-01 00:00:00,1,1,1,1,1\n",
    )
    with pytest.raises(DataError, match="timestamps must increase"):
        ohlcv_to_bars(read_ohlcv_csv(path), btcusdt_binance())


def test_fx_rates_rounded_and_stamped_at_end_of_day(market_dir):
    rows = dict(read_fx_csv(market_dir / "fx" / "usdkrw_ecos_daily_20220811_20251214.csv"))
    assert rows[date(2023, 1, 22)] == Decimal("1234.8000")  # file: 1234.8000000000002
    assert rows[date(2023, 5, 7)] == Decimal("1327.2875")
    bars = fx_to_bars([(date(2024, 12, 3), rows[date(2024, 12, 3)])], fx_proxy_instrument())
    assert bars[0].ts_event == 1733270400 * 10**9  # 2024-12-04 00:00 UTC: usable once its day is over


def test_fx_bad_rate(tmp_path):
    path = write(tmp_path, "date,krw_usd\n2024-01-01,-5\n")
    with pytest.raises(DataError, match="bad.csv:2: rate -5 must be positive"):
        list(read_fx_csv(path))
