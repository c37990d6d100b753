"""Upbit's KRW tick table, checked row by row against shared/reference/upbit-api.md §5.1, and its rounding."""

import re
from decimal import Decimal

import pytest

from adapters.upbit.tick_scheme import KRW_TICK_TABLE
from adapters.upbit.tick_scheme import UPBIT_KRW_TICK_SCHEME
from adapters.upbit.tick_scheme import krw_tick_size
from adapters.upbit.tick_scheme import round_krw_price
from arb_plugin.instruments import krw_btc_upbit

D = Decimal


def _num(text: str) -> Decimal:
    return D(text.replace(",", "").strip())


def doc_table(shared_dir) -> list[tuple[Decimal, Decimal | None, Decimal]]:
    """(lower, upper, tick) rows of the table under '### 5.1' in upbit-api.md."""
    text = (shared_dir / "reference" / "upbit-api.md").read_text(encoding="utf-8")
    section = text[text.index("### 5.1") :]
    section = section[: section.index("History")]
    rows = []
    for line in section.splitlines():
        if not line.startswith("|") or "---" in line or "price" in line:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        for band, tick in ((cells[0], cells[1]), (cells[3], cells[4]) if len(cells) > 4 else ("", "")):
            if not band:
                continue
            if band.startswith("≥"):
                rows.append((_num(band[1:]), None, _num(tick)))
            elif band.startswith("<"):
                rows.append((D(0), _num(band[1:]), _num(tick)))
            else:
                lower, upper = re.split(r"\s*–\s*<", band)
                rows.append((_num(lower), _num(upper), _num(tick)))
    return sorted(rows, key=lambda r: r[0], reverse=True)


def test_table_matches_the_reference_row_by_row(shared_dir):
    rows = doc_table(shared_dir)
    assert len(rows) == len(KRW_TICK_TABLE) == 17
    for (lower, _upper, tick), (our_lower, our_tick) in zip(rows, KRW_TICK_TABLE, strict=True):
        assert (our_lower, our_tick) == (lower, tick)
    # the bands tile the price axis: each band's upper bound is the lower bound of the band above it
    for above, below in zip(rows, rows[1:]):
        assert below[1] == above[0]


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        ("140123456", "1000"),
        ("2000000", "1000"),
        ("1999999", "1000"),
        ("999999", "500"),
        ("500000", "500"),
        ("499999", "100"),
        ("99999", "50"),
        ("49999", "10"),
        ("9999", "5"),
        ("4999", "1"),
        ("999", "1"),
        ("99.9", "0.1"),
        ("9.99", "0.01"),
        ("0.5", "0.001"),
        ("0.05", "0.0001"),
        ("0.005", "0.00001"),
        ("0.0005", "0.000001"),
        ("0.00005", "0.0000001"),
        ("0.000005", "0.00000001"),
    ],
)
def test_tick_for_each_band(price, tick):
    assert krw_tick_size(D(price)) == D(tick)


@pytest.mark.parametrize(
    ("price", "down", "up"),
    [
        ("140123456", "140123000", "140124000"),
        ("999999", "999500", "1000000"),  # up crosses into the 1,000 band, still on its grid
        ("99.95", "99.9", "100"),
        ("50049", "50000", "50050"),
        ("140000000", "140000000", "140000000"),  # on grid stays
    ],
)
def test_round_krw_price(price, down, up):
    assert round_krw_price(D(price), "down") == D(down)
    assert round_krw_price(D(price), "up") == D(up)


def test_negative_price_is_refused():
    with pytest.raises(ValueError, match=">= 0"):
        krw_tick_size(D(-1))


def test_instrument_tick_scheme_follows_the_table():
    instrument = krw_btc_upbit()
    assert instrument.tick_scheme_name == UPBIT_KRW_TICK_SCHEME.name
    assert str(instrument.next_bid_price(140_123_456.0)) == "140123000"
    assert str(instrument.next_ask_price(140_123_456.0, 1)) == "140125000"
    # stepping down across a band edge uses the finer tick below it
    assert str(UPBIT_KRW_TICK_SCHEME.next_bid_price(100.0, 1)) == "99.9"
    assert str(UPBIT_KRW_TICK_SCHEME.next_ask_price(999_600.0, 1)) == "1001000"
