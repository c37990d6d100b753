"""Exact number handling: exponent forms, more digits than float64, Decimal -> Price/Quantity/Money."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nautilus_trader.model.currencies import BTC
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.upbit.parsing import decimal_to_raw
from adapters.upbit.parsing import format_decimal
from adapters.upbit.parsing import parse_iso_to_nanos
from adapters.upbit.parsing import parse_money
from adapters.upbit.parsing import parse_price
from adapters.upbit.parsing import parse_quantity


@pytest.mark.parametrize(
    ("text", "precision", "expected"),
    [
        ("1.16539E8", 0, "116539000"),
        ("7.9276E-4", 8, "0.00079276"),
        ("8.428e-05", 8, "0.00008428"),
        ("0.00077720", 8, "0.00077720"),
        ("103460000.0", 0, "103460000"),
        ("4.843e-05", 8, "0.00004843"),
    ],
)
def test_exponent_forms_are_exact(text: str, precision: int, expected: str) -> None:
    value = msgspec.json.decode(text.encode(), type=Decimal)
    assert str(parse_quantity(value, precision)) == expected


def test_nautilus_from_str_would_be_wrong_for_exponents() -> None:
    # why the adapter never goes through Price.from_str on WS numbers
    assert str(Price.from_str("7.9276E-4")) != "0.00079276"
    assert str(parse_price(Decimal("7.9276E-4"), 8)) == "0.00079276"


def test_more_digits_than_float64_survive() -> None:
    raw = b'{"balance":1386929.37231066771348207123}'
    value = msgspec.json.decode(raw, type=dict[str, Decimal])["balance"]
    assert value == Decimal("1386929.37231066771348207123")
    assert float(value) == 1386929.3723106678  # float64 drops the tail
    assert str(parse_quantity(value, 16)) == "1386929.3723106677134821"
    # rounded half-even at the requested precision, from the exact digits
    assert str(parse_quantity(value, 8)) == "1386929.37231067"
    assert str(parse_quantity(Decimal("0.123456785"), 8)) == "0.12345678"  # half-even tie
    assert str(parse_quantity(Decimal("0.123456775"), 8)) == "0.12345678"


def test_money_rounds_sub_won_krw_half_even() -> None:
    assert str(parse_money(Decimal("50000.47088291"), KRW)) == "50000 KRW"
    assert str(parse_money(Decimal("2.5"), KRW)) == "2 KRW"
    assert str(parse_money(Decimal("4.99743563"), BTC)) == "4.99743563 BTC"


@given(
    st.decimals(
        min_value=Decimal("0"),
        max_value=Decimal("1e9"),
        places=8,
        allow_nan=False,
        allow_infinity=False,
    ),
)
def test_raw_conversion_is_exact_for_any_8_decimal_value(value: Decimal) -> None:
    quantity = Quantity.from_raw(decimal_to_raw(value, 8), 8)
    assert quantity.as_decimal() == value
    # the same number written in exponent form parses to the same raw value
    text = f"{value:E}"
    assert decimal_to_raw(msgspec.json.decode(text.encode(), type=Decimal), 8) == decimal_to_raw(value, 8)


def test_format_decimal_has_no_exponent() -> None:
    assert format_decimal(Decimal("1.16539E8")) == "116539000"
    assert format_decimal(Decimal("0.00050000")) == "0.0005"
    assert format_decimal(Decimal("10000")) == "10000"


def test_iso_times_with_offset_and_microseconds() -> None:
    assert parse_iso_to_nanos("2026-03-22T21:42:22+09:00") == parse_iso_to_nanos("2026-03-22T12:42:22Z")
    assert parse_iso_to_nanos("2025-08-09T16:44:00.597751+09:00") % 1_000_000_000 == 597_751_000
    assert parse_iso_to_nanos("2026-03-11T14:40:00") == parse_iso_to_nanos("2026-03-11T14:40:00+00:00")
