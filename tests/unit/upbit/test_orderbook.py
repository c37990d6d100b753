"""
The orderbook hot path: JSON number tokens to exact raw fixed-point values, units arrays to tokens (Upbit's
layout in bulk, any other layout through msgspec), books to QuoteTick + snapshot OrderBookDeltas.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import FIXED_PRECISION
from nautilus_trader.model.objects import Quantity

from adapters.upbit.orderbook import RawBook
from adapters.upbit.orderbook import RawCache
from adapters.upbit.orderbook import UnitsMemo
from adapters.upbit.orderbook import UnitTokens
from adapters.upbit.orderbook import book_to_deltas
from adapters.upbit.orderbook import book_to_quote
from adapters.upbit.orderbook import token_to_raw
from adapters.upbit.orderbook import tokens_to_raw
from adapters.upbit.parsing import decimal_to_raw
from adapters.upbit.schemas.market import UpbitOrderbook
from adapters.upbit.schemas.ws import DEFAULT_UNIT_KEYS
from adapters.upbit.schemas.ws import SIMPLE_UNIT_KEYS
from adapters.upbit.schemas.ws import UpbitWsOrderbook
from adapters.upbit.schemas.ws import UpbitWsOrderbookUnit
from adapters.upbit.schemas.ws import UpbitWsOrderbookUnitSimple
from tests.fakes.upbit.server import java_number

BTC_KRW = InstrumentId.from_str("KRW-BTC.UPBIT")
ONE = 10**FIXED_PRECISION


def default_tokens() -> UnitTokens:
    return UnitTokens(DEFAULT_UNIT_KEYS, UpbitWsOrderbookUnit)


def units_json(units: list[dict[str, Decimal]], **dumps: object) -> bytes:
    """A units array with numbers written the way Upbit's WebSocket writes them (``1.03493E8``)."""
    rows = [{k: java_number(u[k]) for k in ("ask_price", "bid_price", "ask_size", "bid_size")} for u in units]
    if not dumps:
        return msgspec.json.encode(rows)
    plain = [{k: json.loads(bytes(v)) for k, v in row.items()} for row in rows]  # re-typed only for layout tests
    return json.dumps(plain, **dumps).encode()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("token", "precision", "expected"),
    [
        (b"1.16539E8", 0, "116539000"),
        (b"116606000", 0, "116606000"),
        (b"103460000.0", 0, "103460000"),
        (b"7.9276E-4", 8, "0.00079276"),
        (b"8.428e-05", 8, "0.00008428"),
        (b"5.0E-4", 8, "0.0005"),
        (b"0.00077720", 8, "0.0007772"),
        (b"0", 8, "0"),
        (b"1386929.37231066771348207123", 8, "1386929.37231067"),  # more digits than a float64: rounded up
        (b"1386929.37231066771348207123", 16, "1386929.3723106677134821"),
        (b"0.123456785", 8, "0.12345678"),  # a tie: half-even keeps the even digit
        (b"0.123456775", 8, "0.12345678"),  # a tie: up to the even digit
        (b"0.1234567850000000000000001", 8, "0.12345679"),  # just above the tie
        (b"2.5", 0, "2"),
        (b"3.5", 0, "4"),
        (b"-2.5", 0, "-2"),
        (b"1.0E-20", 8, "0"),
        (b"123456789012345678901234567890E-22", 8, "12345678.90123457"),
        (b"9.99999999999999999999E7", 8, "100000000"),
    ],
)
def test_tokens_convert_exactly(token: bytes, precision: int, expected: str) -> None:
    raw = token_to_raw(token, precision)
    assert raw % 10 ** (FIXED_PRECISION - precision) == 0  # nothing below the precision
    assert Decimal(raw).scaleb(-FIXED_PRECISION).normalize() == Decimal(expected).normalize()
    assert RawCache(precision).to_raw([token]) == [raw]  # the inline plain-form path agrees


@pytest.mark.parametrize("token", [b"abc", b"1.", b".5", b"+5", b"1_0", b"1e", b" 1", b"--1"])
def test_anything_but_a_json_number_is_refused(token: bytes) -> None:
    with pytest.raises(ValueError):
        token_to_raw(token, 8)


@pytest.mark.parametrize("token", [b'"1.5"', b"null", b"true", b"[1]", b"1E999", b"1e-999"])
def test_json_values_that_are_no_price_or_size_are_refused(token: bytes) -> None:
    # the layout check lets only number tokens through; the msgspec path can hand over any JSON value
    with pytest.raises(ValueError):
        token_to_raw(token, 8)
    with pytest.raises(ValueError):
        RawCache(8).to_raw([b"0.5", token])


@given(
    value=st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=12, allow_nan=False),
    precision=st.integers(min_value=0, max_value=FIXED_PRECISION),
    form=st.sampled_from(["plain", "upper", "lower", "java"]),
)
def test_any_written_form_converts_like_the_decimal_path(value: Decimal, precision: int, form: str) -> None:
    if form == "plain":
        token = format(value, "f").encode()
    elif form == "upper":
        token = format(value, "E").encode()
    elif form == "lower":
        token = format(value, "e").encode()
    else:
        token = bytes(java_number(value))
    expected = decimal_to_raw(Decimal(token.decode()), precision)
    assert token_to_raw(token, precision) == expected
    assert RawCache(precision).to_raw([token, token]) == [expected, expected]  # miss, then hit


def test_cache_is_bounded_and_stays_exact() -> None:
    cache = RawCache(8, max_size=16)
    tokens = [f"0.{i:08d}".encode() for i in range(1, 100)]
    assert cache.to_raw(tokens) == [i * 10**8 for i in range(1, 100)]
    assert cache.to_raw(tokens[:5]) == [i * 10**8 for i in range(1, 6)]  # hits
    assert cache.to_raw([tokens[0], b"1.5"]) == [10**8, 15 * 10**15]
    assert len(cache) == 1  # over its bound: started afresh before taking the new token


def test_upbit_layout_is_split_in_bulk_and_other_layouts_the_slow_way_with_equal_results(
    upbit_fixture: Callable[[str], bytes],
) -> None:
    units = json.loads(upbit_fixture("rest_orderbook_KRW-BTC.json"), parse_float=Decimal)[0]["orderbook_units"]
    units = [{k: Decimal(v) for k, v in u.items()} for u in units]
    tokens = default_tokens()
    upbit_layout = units_json(units)
    fast = tokens.to_book(upbit_layout, RawCache(0), RawCache(8))
    assert tokens.fallbacks == 0
    assert len(fast.bid_prices) == len(fast.ask_prices) == 30

    for other in (
        units_json(units, indent=1),  # whitespace
        units_json(units, sort_keys=True),  # another key order: ask_price, ask_size, bid_price, bid_size
    ):
        slow = tokens.to_book(other, RawCache(0), RawCache(8))
        assert (slow.bid_prices, slow.bid_sizes, slow.ask_prices, slow.ask_sizes) == (
            fast.bid_prices,
            fast.bid_sizes,
            fast.ask_prices,
            fast.ask_sizes,
        )
    assert tokens.fallbacks == 2

    # and the same book through the REST Decimal path
    rest = msgspec.json.decode(upbit_fixture("rest_orderbook_KRW-BTC.json"), type=list[UpbitOrderbook])[0]
    book = rest.to_raw_book(0, 8)
    assert (book.bid_prices, book.bid_sizes, book.ask_prices, book.ask_sizes) == (
        fast.bid_prices,
        fast.bid_sizes,
        fast.ask_prices,
        fast.ask_sizes,
    )


def test_simple_layout_and_lower_case_exponents() -> None:
    tokens = UnitTokens(SIMPLE_UNIT_KEYS, UpbitWsOrderbookUnitSimple)
    units = b'[{"ap":116606000,"bp":1.16534e8,"as":5.0E-4,"bs":7.9276e-4},{"ap":116609000,"bp":0,"as":1,"bs":0}]'
    book = tokens.to_book(units, RawCache(0), RawCache(8))
    assert tokens.fallbacks == 0
    assert book.bid_prices == [116534000 * ONE]  # the zero-padded bid of the second unit is dropped
    assert book.bid_sizes == [79276 * 10**8]
    assert book.ask_prices == [116606000 * ONE, 116609000 * ONE]
    assert book.ask_sizes == [5 * 10**12, ONE]


def test_malformed_units_are_refused() -> None:
    tokens = default_tokens()
    with pytest.raises(ValueError):  # a string where a number belongs: the layout check sends it to msgspec
        tokens.to_book(
            b'[{"ask_price":"1","bid_price":1,"ask_size":1,"bid_size":1}]',
            RawCache(0),
            RawCache(8),
        )
    with pytest.raises(msgspec.ValidationError):
        tokens.to_book(b'[{"ask_price":1,"bid_price":1,"ask_size":1}]', RawCache(0), RawCache(8))
    with pytest.raises(msgspec.DecodeError):
        tokens.to_book(b'[{"ask_price":1,"bid_price":1,"ask_size":1,"bid_size":1}', RawCache(0), RawCache(8))


def test_book_to_quote_and_snapshot_deltas() -> None:
    book = RawBook.from_sides(
        [103460000 * ONE, 103438000 * ONE],
        [4 * 10**13, 483381 * 10**8],
        [103493000 * ONE, 0],  # a zero-padded ask level
        [4910155 * 10**8, 0],
    )
    quote = book_to_quote(book, BTC_KRW, 0, 8, 5, 6)
    assert quote is not None
    assert (str(quote.bid_price), str(quote.ask_price), str(quote.bid_size), str(quote.ask_size)) == (
        "103460000",
        "103493000",
        "0.00400000",
        "0.04910155",
    )
    deltas = book_to_deltas(book, BTC_KRW, 0, 8, 9, 5, 6)
    rows = [(d.action, d.order.side, str(d.order.price), str(d.order.size)) for d in deltas.deltas]
    assert rows == [
        (BookAction.CLEAR, OrderSide.NO_ORDER_SIDE, "0", "0.00000000"),
        (BookAction.ADD, OrderSide.BUY, "103460000", "0.00400000"),
        (BookAction.ADD, OrderSide.BUY, "103438000", "0.00483381"),
        (BookAction.ADD, OrderSide.SELL, "103493000", "0.04910155"),
    ]
    assert [d.flags for d in deltas.deltas] == [RecordFlag.F_SNAPSHOT] * 3 + [RecordFlag.F_SNAPSHOT | RecordFlag.F_LAST]
    assert {(d.sequence, d.ts_event, d.ts_init) for d in deltas.deltas} == {(9, 5, 6)}
    assert deltas.deltas[1].order.size == Quantity.from_str("0.00400000")

    truncated = book.truncated(1)
    assert len(book_to_deltas(truncated, BTC_KRW, 0, 8, 10, 5, 6).deltas) == 3

    empty = RawBook([], [], 0)
    assert book_to_quote(empty, BTC_KRW, 0, 8, 5, 6) is None
    (clear,) = book_to_deltas(empty, BTC_KRW, 0, 8, 11, 5, 6).deltas
    assert clear.action == BookAction.CLEAR
    assert clear.flags == RecordFlag.F_SNAPSHOT | RecordFlag.F_LAST


def test_frame_decodes_with_raw_units(upbit_fixture: Callable[[str], bytes]) -> None:
    msg = msgspec.json.decode(upbit_fixture("ws_orderbook_default_realtime_trimmed.json"), type=UpbitWsOrderbook)
    book = default_tokens().to_book(msg.orderbook_units, RawCache(0), RawCache(8))
    assert book.ask_sizes == [2054761 * 10**8, 77720 * 10**8]  # "0.02054761", "0.00077720" as stored
    assert book.ask_prices == [116539000 * ONE, 116542000 * ONE]  # "1.16539E8", "1.16542E8"


def _random_tokens(rng: random.Random, count: int) -> list[bytes]:
    """Number tokens in every form a JSON writer may use, Upbit's (Java) forms most often."""
    tokens = []
    for _ in range(count):
        digits = str(rng.randint(0, 10 ** rng.randint(1, 24)))
        kind = rng.random()
        sign = "-" if rng.random() < 0.05 else ""
        if kind < 0.4:  # plain, 0-12 decimals (some beyond the precision: rounding)
            point = rng.randint(0, 12)
            whole, fraction = digits[:-point] or "0", digits[-point:].rjust(point, "0") if point else ""
            token = f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"
        elif kind < 0.8:  # Java's exponent form: d.dddE-x / d.dddE+x-less
            mantissa = digits.lstrip("0") or "0"
            token = f"{sign}{mantissa[0]}.{mantissa[1:] or '0'}E{rng.randint(-44, 44)}"
        elif kind < 0.9:  # lower case, signed exponents, no point
            token = f"{sign}{digits}{rng.choice(['e', 'E'])}{rng.choice(['', '+', '-'])}{rng.randint(0, 44)}"
        else:  # edge cases
            token = rng.choice(["0", "0.0", "-0", "1", "0.00000001", "0.000000005", "9.99999999E7", "1.0E-20"])
        tokens.append(token.encode())
    return tokens


def _expected(tokens: list[bytes], precision: int) -> list[int | type[ValueError]]:
    expected: list[int | type[ValueError]] = []
    for token in tokens:
        try:
            expected.append(token_to_raw(token, precision))
        except ValueError:
            expected.append(ValueError)
    return expected


@pytest.mark.parametrize("precision", [0, 2, 4, 8, 12, 16])
def test_every_conversion_path_agrees_with_token_to_raw_on_random_tokens(precision: int) -> None:
    rng = random.Random(precision)
    tokens = [*_random_tokens(rng, 3000), b"1.0E60", b"5.5e-90", b"1.5E+3", b"-7.9276E-4"]
    expected = _expected(tokens, precision)
    assert ValueError in expected and 0 in expected  # the sample holds refusals and zeros too
    for token, raw in zip(tokens, expected, strict=True):  # one by one: tokens_to_raw and a fresh cache
        if raw is ValueError:
            with pytest.raises(ValueError):
                tokens_to_raw([token], precision)
            with pytest.raises(ValueError):
                RawCache(precision).to_raw([token])
        else:
            assert tokens_to_raw([token], precision) == [raw], token
            assert raw % 10 ** (FIXED_PRECISION - precision) == 0
    good = [t for t, raw in zip(tokens, expected, strict=True) if raw is not ValueError]
    good_raws = [raw for raw in expected if raw is not ValueError]
    assert tokens_to_raw(good, precision) == good_raws
    # through a cache: warm (some tokens known), then lists of new tokens only, one after the other (the
    # cold path that neither looks up nor stores, and every eighth such list the usual way)
    cache = RawCache(precision, max_size=256)
    starts = range(0, len(good), 60)
    for start in starts:  # new lists one after the other: cold after the first
        assert cache.to_raw(good[start : start + 60]) == good_raws[start : start + 60]
    assert cache.cold_lists > len(starts) // 2  # (a list whose first or last token came before is not cold)
    for start in starts:  # some known (every eighth cold list was stored), then all known
        assert cache.to_raw(good[start : start + 60]) == good_raws[start : start + 60]
        assert cache.to_raw(good[start : start + 60]) == good_raws[start : start + 60]


def test_java_exponent_forms_convert_exactly() -> None:
    assert tokens_to_raw([b"9.6713E-4", b"4.846E-5", b"1.16539E8", b"1.0E-20", b"5.0E-4"], 8) == [
        96713 * 10**8,
        4846 * 10**8,
        116539000 * ONE,
        0,  # 1e-20 rounds to 0 at 8 decimals (token_to_raw's rounding)
        5 * 10**12,
    ]
    assert tokens_to_raw([b"1.23456789E-1"], 8) == [12345679 * 10**8]  # 9 decimals: rounded half-even
    with pytest.raises(ValueError):
        tokens_to_raw([b"1.0E60"], 8)  # out of any price or size range, like token_to_raw


def test_a_number_byte_inside_a_key_or_a_lower_case_exponent_is_not_taken_for_a_value() -> None:
    tokens = default_tokens()
    good = b'[{"ask_price":1.0E2,"bid_price":99,"ask_size":7.9276E-4,"bid_size":1.5}]'
    book = tokens.to_book(good, RawCache(0), RawCache(8))
    assert tokens.fallbacks == 0
    assert (book.bid_prices, book.ask_prices, book.bid_sizes, book.ask_sizes) == (
        [99 * ONE],
        [100 * ONE],
        [15 * 10**15],
        [79276 * 10**8],
    )
    lower = tokens.to_book(good.replace(b"7.9276E-4", b"7.9276e-4"), RawCache(0), RawCache(8))
    assert tokens.fallbacks == 1  # the "e" of the keys: a lower-case exponent goes through msgspec
    assert lower.ask_sizes == book.ask_sizes
    for inserted in (b'"ask_pri5ce"', b'"5ask_price"', b'"bid_size5"'):
        key = inserted.replace(b"5", b"")
        with pytest.raises(msgspec.ValidationError):  # the key is not Upbit's: msgspec refuses the unit
            tokens.to_book(good.replace(key, inserted), RawCache(0), RawCache(8))
    assert tokens.fallbacks == 4


def test_lists_like_the_last_one_are_compared_token_by_token_and_stay_exact() -> None:
    rng = random.Random(11)
    pool = [t for t in _random_tokens(rng, 400) if _expected([t], 8) != [ValueError]]
    cache = RawCache(8, max_size=64)
    tokens = pool[:30]
    for _ in range(300):
        tokens = list(tokens)
        for _ in range(rng.choice([0, 1, 2, 3, 30])):  # a few changes (the last-list path) or many
            tokens[rng.randrange(30)] = rng.choice(pool)
        raws = cache.to_raw(tokens)
        assert raws == _expected(tokens, 8)
        raws[0] = -1  # the caller's list is its own: the cache's memory of it is unaffected
    assert cache.to_raw(list(tokens)) == _expected(tokens, 8)


def test_a_refused_token_leaves_the_last_list_memory_whole() -> None:
    cache = RawCache(8)
    first = [b"0.1", b"0.2", b"0.3", b"0.4", b"0.5"]
    assert cache.to_raw(first) == [i * 10**15 for i in range(1, 6)]
    with pytest.raises(ValueError):
        cache.to_raw([b"0.1", b"0.7", b"null", b"0.4", b"0.5"])  # like the last list: 0.7 converted, then null
    assert cache.to_raw(list(first)) == [i * 10**15 for i in range(1, 6)]


def _book_of(tokens: UnitTokens, units: bytes, memo: UnitsMemo | None, caches: tuple[RawCache, RawCache]) -> object:
    """The book as (prices, sizes, n_bids), or the type of the error raised."""
    try:
        book = tokens.to_book(units, caches[0], caches[1], memo)
    except (ValueError, msgspec.ValidationError, msgspec.DecodeError) as e:
        return type(e)
    return book.prices, book.sizes, book.n_bids


def _moving_book(rng: random.Random, frames: int) -> list[bytes]:
    """30-unit frames of a book that changes as a busy Upbit book does, with every kind of edge case mixed in."""
    bids = [[Decimal(103_459_000 - 1000 * i), Decimal(rng.randint(1, 10**7)) / 10**8] for i in range(30)]
    asks = [[Decimal(103_460_000 + 1000 * i), Decimal(rng.randint(1, 10**7)) / 10**8] for i in range(30)]
    out = []
    for _ in range(frames):
        roll = rng.random()
        side = bids if rng.random() < 0.5 else asks
        if roll < 0.55:  # a few sizes (the memo's path)
            for _ in range(rng.randint(1, 3)):
                side[min(int(rng.expovariate(1 / 4)), 29)][1] = Decimal(rng.randint(1, 10**7)) / 10**8
        elif roll < 0.65:  # the best level taken
            step = Decimal(-1000 if side is bids else 1000)
            side.pop(0)
            side.append([side[-1][0] + step, Decimal(rng.randint(1, 10**7)) / 10**8])
        elif roll < 0.7:  # every size changed
            for level in bids + asks:
                level[1] = Decimal(rng.randint(1, 10**7)) / 10**8
        elif roll < 0.75:  # a thin side padded with zeros (Upbit writes 0 for missing levels)
            side[-1][1] = Decimal(0)
        units = [
            {"bid_price": b[0], "bid_size": b[1], "ask_price": a[0], "ask_size": a[1]}
            for b, a in zip(bids, asks, strict=True)
        ]
        frame = units_json(units)
        edge = rng.random()
        if edge < 0.03:  # another depth
            frame = units_json(units[: rng.choice([1, 15, 20])])
        elif edge < 0.06:  # a changed unit with a lower-case exponent: not Upbit's layout, decoded the slow way
            frame = frame.replace(bytes(java_number(units[0]["bid_size"])), b"8.428e-05", 1)
        elif edge < 0.09:  # a changed unit whose value is a JSON number but no size (out of range)
            frame = frame.replace(bytes(java_number(units[1]["ask_size"])), b"1E99", 1)
        elif edge < 0.1:  # another key order in one unit
            frame = frame.replace(b'{"ask_price":', b'{"bid_price":', 1)
        out.append(frame)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_a_memo_never_changes_a_book_or_an_error(seed: int) -> None:
    rng = random.Random(seed)
    tokens = default_tokens()
    plain = (RawCache(0), RawCache(8))
    memoized = (RawCache(0, max_size=64), RawCache(8, max_size=64))  # small caches: cleared often
    memo = UnitsMemo()
    patched = 0
    for frame in _moving_book(rng, 1500):
        before = list(memo.units)
        assert _book_of(tokens, frame, memo, memoized) == _book_of(tokens, frame, None, plain)
        patched += bool(before) and memo.units is not before and memo.n == 30
    assert patched > 500  # the memo's own path was taken for most frames, not only the whole-array way


def test_only_the_changed_units_are_converted() -> None:
    tokens = default_tokens()
    units = [
        {"bid_price": Decimal(103_459_000 - 1000 * i), "bid_size": Decimal(i + 1) / 100,
         "ask_price": Decimal(103_460_000 + 1000 * i), "ask_size": Decimal(i + 2) / 100}
        for i in range(30)
    ]
    sizes_seen: list[list[bytes]] = []

    class Recording(RawCache):
        def lookup(self, tokens: list[bytes]) -> list[int]:
            sizes_seen.append(list(tokens))
            return super().lookup(tokens)

    memo, prices, sizes = UnitsMemo(), RawCache(0), Recording(8)
    tokens.to_book(units_json(units), prices, sizes, memo)
    units[3]["bid_size"] = Decimal("0.77777777")
    book = tokens.to_book(units_json(units), prices, sizes, memo)
    assert sizes_seen == [[b"0.05", b"0.77777777"]]  # unit 3's ask size and its new bid size, nothing else
    assert book.bid_sizes[3] == 77_777_777 * 10**8
    assert book.sizes == _book_of(tokens, units_json(units), None, (RawCache(0), RawCache(8)))[1]  # type: ignore[index]


def test_a_refused_value_leaves_the_memo_whole() -> None:
    tokens = default_tokens()
    units = [
        {"bid_price": Decimal(1000 - i), "bid_size": Decimal(1), "ask_price": Decimal(2000 + i), "ask_size": Decimal(2)}
        for i in range(30)
    ]
    good = units_json(units)
    memo, caches = UnitsMemo(), (RawCache(0), RawCache(8))
    first = _book_of(tokens, good, memo, caches)
    bad = good.replace(b'"bid_size":1.0}', b'"bid_size":1E99}', 1)  # Upbit's layout, but no size
    assert bad != good
    assert _book_of(tokens, bad, memo, caches) is ValueError
    assert memo.units == good[2:-2].split(b"},{")
    assert _book_of(tokens, good, memo, caches) == first


def test_after_every_size_changing_the_memo_pauses_then_takes_over_again() -> None:
    tokens = default_tokens()
    rng = random.Random(3)

    def frame(sizes: list[int]) -> bytes:
        return units_json([
            {"bid_price": Decimal(1000 - i), "bid_size": Decimal(sizes[i]) / 10**8,
             "ask_price": Decimal(2000 + i), "ask_size": Decimal(sizes[30 + i]) / 10**8}
            for i in range(30)
        ])

    memo, caches = UnitsMemo(), (RawCache(0), RawCache(8))
    sizes = [rng.randint(1, 10**8) for _ in range(60)]
    for _ in range(20):  # every size new in every frame
        sizes = [rng.randint(1, 10**8) for _ in range(60)]
        tokens.to_book(frame(sizes), *caches, memo)
    assert memo.pause > 0  # comparing is not even tried while every size changes
    compared_again = None
    for i in range(20):  # then one size a frame
        sizes[i] += 1
        before = memo.units
        tokens.to_book(frame(sizes), *caches, memo)
        if compared_again is None and memo.units is not before and memo.misses == 0 and memo.pause == 0:
            compared_again = i
    assert compared_again is not None and compared_again <= 8  # within a pause and one refreshing frame
    assert memo.units == frame(sizes)[2:-2].split(b"},{")
