"""
The compiled orderbook path (``adapters.upbit.units_parser``) against the pure-Python path it stands in for:
every frame it takes gives the same book, snapshot and quote; every frame it leaves is one the Python path
decides (same book, or the error).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

import msgspec
import nautilus_trader
import pytest
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.objects import FIXED_PRECISION
from nautilus_trader.model.objects import PRICE_MAX
from nautilus_trader.model.objects import QUANTITY_MAX

from adapters.upbit import units_parser
from adapters.upbit.orderbook import CompiledPathUnavailable
from adapters.upbit.orderbook import RawBook
from adapters.upbit.orderbook import RawCache
from adapters.upbit.orderbook import UnitTokens
from adapters.upbit.orderbook import compiled_units_parser
from adapters.upbit.orderbook import token_to_raw
from adapters.upbit.schemas.ws import DEFAULT_UNIT_KEYS
from adapters.upbit.schemas.ws import SIMPLE_UNIT_KEYS
from adapters.upbit.schemas.ws import UpbitWsOrderbook
from adapters.upbit.schemas.ws import UpbitWsOrderbookUnitSimple
from adapters.upbit.units_parser import ParsedBook
from adapters.upbit.units_parser import UnitsParser
from tests.unit.upbit.test_orderbook import BTC_KRW
from tests.unit.upbit.test_orderbook import _book_of
from tests.unit.upbit.test_orderbook import _moving_book
from tests.unit.upbit.test_orderbook import _random_tokens
from tests.unit.upbit.test_orderbook import default_tokens
from tests.unit.upbit.test_orderbook import units_json

KEYS = ("ask_price", "bid_price", "ask_size", "bid_size")


def parser() -> UnitsParser:
    return UnitsParser(DEFAULT_UNIT_KEYS)


def python_book(units: bytes, price_precision: int = 0, size_precision: int = 8) -> object:
    """The pure-Python path's book as (prices, sizes, n_bids), or the type of the error it raises."""
    return _book_of(default_tokens(), units, None, (RawCache(price_precision), RawCache(size_precision)))


def levels(book: ParsedBook | RawBook) -> tuple[list[int], list[int], int]:
    if isinstance(book, RawBook):
        return book.prices, book.sizes, book.n_bids
    return book.raw_levels()


def units_of(tokens: list[bytes], keys: tuple[str, ...] = KEYS) -> bytes:
    """A units array in Upbit's layout with these value tokens, four per unit, written as they are."""
    units = [
        b"{" + b",".join(b'"%s":%s' % (k.encode(), v) for k, v in zip(keys, tokens[i : i + 4], strict=True)) + b"}"
        for i in range(0, len(tokens), 4)
    ]
    return b"[" + b",".join(units) + b"]"


def _upbit_form(token: bytes, precision: int, bound: float) -> bool:
    """
    Whether the compiled path must take the token: unsigned, upper-case exponent, at most 36 significant
    digits, exact at ``precision`` (no non-zero digit beyond it), within NautilusTrader's bound.
    """
    if token.startswith(b"-") or b"e" in token:
        return False
    mantissa, _, exponent = token.partition(b"E")
    whole, _, fraction = mantissa.partition(b".")
    digits = int(whole + fraction)
    shift = int(exponent or b"0") - len(fraction) + precision  # value * 10**precision = digits * 10**shift
    return (
        len(str(digits)) <= 36
        and (shift >= 0 or digits % 10**-shift == 0)
        and token_to_raw(token, precision) <= int(bound) * 10**FIXED_PRECISION
    )


def test_the_compiled_path_is_built_and_chosen_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(compiled_units_parser(DEFAULT_UNIT_KEYS), UnitsParser)  # built by `make install`
    # compiled against this NautilusTrader: another one is refused at import (its C layouts may differ)
    assert nautilus_trader.__version__ == units_parser.BUILT_AGAINST
    monkeypatch.setenv("ARB_UPBIT_PURE_PYTHON", "1")
    with pytest.raises(CompiledPathUnavailable, match="turned off by ARB_UPBIT_PURE_PYTHON"):
        compiled_units_parser(DEFAULT_UNIT_KEYS)


@pytest.mark.parametrize(("position", "bound"), [(0, PRICE_MAX), (2, QUANTITY_MAX)], ids=["price", "size"])
def test_the_largest_value_taken_is_nautilus_traders_bound_at_every_precision(position: int, bound: float) -> None:
    # beyond PRICE_RAW_MAX / QUANTITY_RAW_MAX NautilusTrader's Rust core aborts the process: at every
    # precision (every scale a value can take) the value at the bound is taken, one unit above it is not
    raw_max = int(bound) * 10**FIXED_PRECISION

    def taken(units_at_precision: int, precision: int) -> bool:
        digits = str(units_at_precision).rjust(precision + 1, "0")
        token = f"{digits[:-precision]}.{digits[-precision:]}" if precision else digits
        values = [b"1"] * 4
        values[position] = token.encode()
        return parser().parse(units_of(values), precision, precision) is not None

    for precision in range(FIXED_PRECISION + 1):
        at_bound = raw_max // 10 ** (FIXED_PRECISION - precision)
        assert taken(at_bound, precision), precision
        assert not taken(at_bound + 1, precision), precision
        assert not taken(at_bound * 10, precision), precision


def test_recorded_frames_give_the_python_paths_book(upbit_fixture: Callable[[str], bytes]) -> None:
    for name in ("ws_orderbook_default_snapshot_trimmed.json", "ws_orderbook_default_realtime_trimmed.json"):
        units = bytes(msgspec.json.decode(upbit_fixture(name), type=UpbitWsOrderbook).orderbook_units)
        book = parser().parse(units, 0, 8)
        assert book is not None
        assert levels(book) == python_book(units)
        assert book.raw_levels()[1][2] == 2054761 * 10**8  # "0.02054761" as stored, the first ask


@pytest.mark.parametrize(("price_precision", "size_precision"), [(0, 8), (2, 4), (8, 8), (16, 16), (0, 0)])
def test_random_tokens_give_the_python_paths_book_or_are_left_to_it(price_precision: int, size_precision: int) -> None:
    # each token in turn as ask price, bid price, ask size and bid size of a unit whose other values are 1
    rng = random.Random(price_precision * 100 + size_precision)
    forms = [(price_precision, PRICE_MAX)] * 2 + [(size_precision, QUANTITY_MAX)] * 2
    taken = left = 0
    for i, token in enumerate(_random_tokens(rng, 3000)):
        values = [b"1"] * 4
        values[i % 4] = token
        units = units_of(values)
        book = parser().parse(units, price_precision, size_precision)
        expected = python_book(units, price_precision, size_precision)
        if isinstance(expected, tuple) and _upbit_form(token, *forms[i % 4]):
            assert book is not None, units  # every Upbit form within range is taken
        if book is None:
            left += 1
        else:
            taken += 1
            assert levels(book) == expected, units
    assert taken > 250 and left > 1000  # both kinds of token were in the sample


@pytest.mark.parametrize("seed", range(4))
def test_a_moving_book_with_edge_cases_gives_the_python_paths_books(seed: int) -> None:
    taken = 0
    for frame in _moving_book(random.Random(seed), 1500):
        book = parser().parse(frame, 0, 8)
        if book is not None:
            taken += 1
            assert levels(book) == python_book(frame)
        else:  # lower-case exponent, out of range, another key order: the Python path decides
            assert b"e-" in frame or b"1E99" in frame or frame.count(b'"bid_price"') > frame.count(b'"ask_price"')
    assert taken > 1200


@pytest.mark.parametrize(
    ("units", "why"),
    [
        (b"[]", "no unit"),
        (b'[{"ask_price":1,"bid_price":1,"ask_size":1,"bid_size":1}] ', "a byte after the array"),
        (b'[{"ask_price": 1,"bid_price":1,"ask_size":1,"bid_size":1}]', "whitespace"),
        (b'[{"bid_price":1,"ask_price":1,"ask_size":1,"bid_size":1}]', "another key order"),
        (b'[{"ask_price":1,"bid_price":1,"ask_size":1}]', "a key missing"),
        (b'[{"ask_price":1,"bid_price":1,"ask_size":1,"bid_size":1,"x":1}]', "a key more"),
        (b'[{"ask_price":1,"bid_price":1,"ask_size":8.428e-05,"bid_size":1}]', "a lower-case exponent"),
        (b'[{"ask_price":1,"bid_price":1,"ask_size":1.5E+3,"bid_size":1}]', "a signed exponent is fine"),
        (b'[{"ask_price":-1,"bid_price":1,"ask_size":1,"bid_size":1}]', "a sign"),
        (b'[{"ask_price":1,"bid_price":1,"ask_size":0.123456785,"bid_size":1}]', "rounding"),
        (b'[{"ask_price":1,"bid_price":1,"ask_size":1E99,"bid_size":1}]', "out of any range"),
        (b'[{"ask_price":2E13,"bid_price":1,"ask_size":1,"bid_size":1}]', "above NautilusTrader's PRICE_MAX"),
        (b'[{"ask_price":"1","bid_price":1,"ask_size":1,"bid_size":1}]', "a string"),
        (b'[{"ask_price":1.,"bid_price":1,"ask_size":1,"bid_size":1}]', "no digit after the point"),
        (b'[{"ask_price":1,"bid_price":1,"ask_size":1,"bid_size":1},]', "a trailing comma"),
    ],
)
def test_what_the_compiled_path_leaves_to_the_python_path(units: bytes, why: str) -> None:
    book = parser().parse(units, 0, 8)
    if why == "a signed exponent is fine":
        assert book is not None and book.raw_levels()[1] == [10**16, 1500 * 10**16]
        return
    assert book is None, why


def test_more_units_than_the_python_paths_bound_are_left_to_it() -> None:
    unit = [b"1", b"1", b"1", b"1"]
    assert parser().parse(units_of(unit * 64), 0, 8) is not None
    assert parser().parse(units_of(unit * 65), 0, 8) is None


def test_zero_padding_is_dropped_and_every_shape_of_book_is_kept() -> None:
    # the last bid and the first two asks padded with zeros (a thin book): levels kept in delta order
    units = units_json(
        [
            {"ask_price": Decimal(0), "bid_price": Decimal(99), "ask_size": Decimal(0), "bid_size": Decimal("0.5")},
            {"ask_price": Decimal(0), "bid_price": Decimal(98), "ask_size": Decimal(1), "bid_size": Decimal("0.25")},
            {"ask_price": Decimal(101), "bid_price": Decimal(0), "ask_size": Decimal(2), "bid_size": Decimal(0)},
        ],
    )
    book = parser().parse(units, 0, 8)
    assert book is not None
    assert levels(book) == python_book(units)
    assert (book.n_bids, book.n_levels) == (2, 3)
    one_sided = parser().parse(units_of([b"0", b"99", b"0", b"1"]), 0, 8)
    assert one_sided is not None and one_sided.to_quote(BTC_KRW, 0, 8, 1, 2) is None
    empty = parser().parse(units_of([b"0"] * 4), 0, 8)
    assert empty is not None and empty.n_levels == 0
    deltas = empty.to_deltas(BTC_KRW, 0, 8, 1, 2, 3).deltas
    assert len(deltas) == 1 and deltas[0].flags == RecordFlag.F_SNAPSHOT | RecordFlag.F_LAST


def test_snapshot_quote_truncation_and_crossing_equal_the_python_paths() -> None:
    rng = random.Random(11)
    for frame in _moving_book(rng, 200):
        book = parser().parse(frame, 0, 8)
        if book is None:
            continue
        prices, sizes, n_bids = book.raw_levels()
        raw = RawBook(prices, sizes, n_bids)
        for depth in (0, 1, 5, 10, 30):
            ours, theirs = (book, raw) if not depth else (book.truncated(depth), raw.truncated(depth))
            assert levels(ours) == levels(theirs)
            assert OrderBookDeltas.to_dict(ours.to_deltas(BTC_KRW, 0, 8, 7, 100, 200)) == OrderBookDeltas.to_dict(
                theirs.to_deltas(BTC_KRW, 0, 8, 7, 100, 200)
            )
            quote, expected = ours.to_quote(BTC_KRW, 0, 8, 100, 200), theirs.to_quote(BTC_KRW, 0, 8, 100, 200)
            assert expected is not None and quote is not None
            assert QuoteTick.to_dict(quote) == QuoteTick.to_dict(expected)
        assert book.crossed() is None
    locked = parser().parse(units_of([b"100", b"100", b"1", b"1"]), 0, 8)
    assert locked is not None and locked.crossed() == (100 * 10**FIXED_PRECISION, 100 * 10**FIXED_PRECISION)
    assert RawBook(*locked.raw_levels()).crossed() == locked.crossed()


def test_the_simple_layout_has_its_own_parser() -> None:
    units = units_of([b"1.0346E8", b"1.0345E8", b"0.5", b"9.6713E-4"], keys=SIMPLE_UNIT_KEYS)
    book = UnitsParser(SIMPLE_UNIT_KEYS).parse(units, 0, 8)
    assert book is not None
    simple = UnitTokens(SIMPLE_UNIT_KEYS, UpbitWsOrderbookUnitSimple).to_book(units, RawCache(0), RawCache(8))
    assert levels(book) == levels(simple)
    assert parser().parse(units, 0, 8) is None  # DEFAULT keys expected


def test_a_book_out_of_nautilus_traders_range_is_refused_by_the_python_path_too() -> None:
    units = units_of([b"2E13", b"1", b"1", b"1"])  # 2e13 KRW: above PRICE_MAX
    assert parser().parse(units, 0, 8) is None
    assert python_book(units) is ValueError  # refused before NautilusTrader's core would abort the process
    with pytest.raises(ValueError, match="out of NautilusTrader's range"):
        RawBook([1, (int(QUANTITY_MAX) + 1) * 10**FIXED_PRECISION], [1, 1], 1).to_quote(BTC_KRW, 0, 0, 1, 2)


def test_a_negative_depth_is_refused() -> None:
    book = parser().parse(units_of([b"2", b"1", b"1", b"1"] * 3), 0, 8)
    assert book is not None
    with pytest.raises(ValueError, match="depth must be >= 0"):
        book.truncated(-1)
    with pytest.raises(ValueError, match="depth must be >= 0"):
        RawBook(*book.raw_levels()).truncated(-1)


def test_a_parser_needs_four_keys() -> None:
    with pytest.raises(ValueError, match="four keys"):
        UnitsParser(("ap", "bp", "as"))


def test_values_at_every_scale_and_at_nautilus_traders_bounds() -> None:
    # 128-bit values beyond what a double holds exactly (10**23 and up) and NautilusTrader's raw bounds: a
    # value one unit above PRICE_RAW_MAX / QUANTITY_RAW_MAX would abort the process in NautilusTrader's Rust
    # core, so it is left to the Python path
    for k in range(14):
        units = units_of([f"1.0E{k}".encode(), b"1", f"1{'0' * k}.0".encode(), b"1"])
        book = parser().parse(units, 0, 0)
        assert book is not None and levels(book) == python_book(units, 0, 0)
        assert book.raw_levels()[0][1] == 10 ** (k + FIXED_PRECISION)  # the ask
    price_max, quantity_max = int(PRICE_MAX), int(QUANTITY_MAX)
    at_bounds = units_of([str(price_max).encode(), b"1", str(quantity_max).encode(), b"1"])
    book = parser().parse(at_bounds, 0, 0)
    assert book is not None and levels(book) == python_book(at_bounds, 0, 0)
    assert book.to_quote(BTC_KRW, 0, 0, 1, 2) is not None  # NautilusTrader takes them
    for above in ([str(price_max + 1).encode(), b"1", b"1", b"1"], [b"1", b"1", str(quantity_max + 1).encode(), b"1"]):
        assert parser().parse(units_of(above), 0, 0) is None
    fine = units_of([f"{price_max}.0000000000000001".encode(), b"1", b"1", b"1"])
    assert parser().parse(fine, 16, 0) is None  # above the bound by 1e-16


def test_data_is_built_only_at_the_precisions_the_book_was_read_at() -> None:
    # a raw value is a multiple of its precision's increment only at that precision: another would break
    # NautilusTrader's invariants (and abort the process in its core)
    book = parser().parse(units_of([b"2.5", b"1.25", b"0.5", b"0.25"]), 2, 2)
    assert book is not None and (book.price_precision, book.size_precision) == (2, 2)
    assert book.truncated(1).price_precision == 2
    with pytest.raises(ValueError, match="read at precisions 2/2, not 0/2"):
        book.to_deltas(BTC_KRW, 0, 2, 1, 2, 3)
    with pytest.raises(ValueError, match="read at precisions 2/2, not 2/8"):
        book.to_quote(BTC_KRW, 2, 8, 2, 3)
    deltas = book.to_deltas(BTC_KRW, 2, 2, 1, 2, 3).deltas
    assert [str(d.order.price) for d in deltas[1:]] == ["1.25", "2.50"]
    assert [d.order.size.precision for d in deltas[1:]] == [2, 2]


def test_a_snapshot_keeps_its_levels_when_the_next_one_is_built() -> None:
    # the compiled path writes each frame's delta structs into the same pooled objects: OrderBookDeltas
    # must hold its own copy (it does in NautilusTrader 1.231: a C vector, never the objects)
    first = parser().parse(units_of([b"2", b"1", b"0.5", b"0.25"]), 0, 2)
    second = parser().parse(units_of([b"9", b"8", b"0.75", b"0.5"] * 3), 0, 2)
    assert first is not None and second is not None
    snapshot = first.to_deltas(BTC_KRW, 0, 2, 1, 2, 3)
    before = OrderBookDeltas.to_dict(snapshot)
    second.to_deltas(BTC_KRW, 0, 2, 2, 4, 5)
    assert OrderBookDeltas.to_dict(snapshot) == before
    assert [str(d.order.price) for d in snapshot.deltas[1:]] == ["1", "2"]
