"""
Orderbook frames to NautilusTrader data, exactly and fast (the hot path of the data client).

Every Upbit orderbook frame carries the whole book (15 or 30 units on the usual subscriptions, four numbers
each), ten times a second per busy market. The units are decoded as raw JSON (``msgspec.Raw``: msgspec has
checked the JSON) and the numbers are taken as the exact digits Upbit wrote.

The data client first offers each units array to the compiled path, :mod:`adapters.upbit.units_parser`
(see :func:`compiled_units_parser`): Upbit's exact layout and number forms in one C pass, ~3-4x faster. This
module is the pure-Python path, which takes every array the compiled one leaves (another layout, rounding,
signs, refusals) and every array when the compiled module was not built; both give the same data:

- :class:`UnitTokens` splits the units array into its price and size tokens (bids, then asks) with two
  ``bytes.translate`` passes (one deleting the number bytes: the layout check; one keeping only them,
  ``,`` and ``:``) and one ``split``, C loops over the whole array. It does so only after checking that the
  array has Upbit's layout exactly (keys, their order, nothing but numbers as values): any other layout
  goes through msgspec unit by unit, with the same result.
- :func:`token_to_raw` turns a token into a NautilusTrader raw fixed-point integer (``value * 10**16``,
  ``FIXED_PRECISION``) at a given precision with integer arithmetic only: plain, exponent (``1.16539E8``,
  ``7.9276E-4``) and long (more digits than a float64 holds) forms are exact, extra decimals are rounded
  half-even. No ``float`` and no ``Decimal`` on the way. :func:`tokens_to_raw` gives the same values for a
  list of tokens, with the forms Upbit writes (``0.04910156``, ``9.6713E-4``) converted without a regex.
- :class:`RawCache` remembers the raw value of the tokens it has seen (prices sit on a tick grid and most
  levels of a book repeat from one frame to the next). A list like the last one (the same book with a few
  sizes changed) is compared with it token by token, only the changed tokens looked up; when every token
  of list after list is new (every size changed), it stops looking them up and storing them, which costs
  about half as much as converting.
- :class:`UnitsMemo` keeps a market's last units array unit by unit with its raw values (30-unit books):
  a frame that differs from the last in a few units (a busy book between two frames: a few sizes) is cut
  into units with one ``split`` and only the changed units are checked and converted (see
  :meth:`UnitTokens.to_book`). Identical bytes always give identical values.
- :func:`book_to_deltas` builds the ``CLEAR`` + ``ADD`` snapshot straight from the raw lists with
  ``OrderBookDelta.from_raw`` (no ``Price``/``Quantity``/``BookOrder`` objects on the way), and
  :func:`book_to_quote` the top-of-book ``QuoteTick``. Zero price or size levels (Upbit pads thin sides
  with zeros) are dropped. ``from_raw`` (about 0.2 us a level) is the floor of the whole path:
  NautilusTrader 1.231 has no bulk constructor, ``OrderBookDeltas`` copies each delta's C struct, and
  deltas cannot be kept from one frame to the next (each carries the frame's sequence and timestamps).
"""

from __future__ import annotations

import importlib
import os
import re
from itertools import compress
from operator import ne
from typing import TYPE_CHECKING

import msgspec
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import FIXED_PRECISION
from nautilus_trader.model.objects import PRICE_MAX
from nautilus_trader.model.objects import QUANTITY_MAX

if TYPE_CHECKING:
    from adapters.upbit.units_parser import UnitsParser

_NUMBER_CHARS = b"0123456789.Ee+-"  # every byte a JSON number can hold
_NUMBER = re.compile(rb"(-?\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?")  # JSON number grammar (leading zeros aside)
_MAX_EXPONENT = 40  # |exponent| beyond this cannot be a price or a size (and would make huge integers)
# 10**(16 - n): the raw value of a token with n written decimals is int(digits) * _SCALE_BY_DECIMALS[n]
_SCALE_BY_DECIMALS: tuple[int, ...] = tuple(10 ** (FIXED_PRECISION - n) for n in range(FIXED_PRECISION + 1))

_ADD = int(BookAction.ADD)
_CLEAR = int(BookAction.CLEAR)
_NO_SIDE = int(OrderSide.NO_ORDER_SIDE)
_BUY = int(OrderSide.BUY)
_SELL = int(OrderSide.SELL)
_F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)
_F_LAST_SNAPSHOT = int(RecordFlag.F_SNAPSHOT) | int(RecordFlag.F_LAST)
_from_raw = OrderBookDelta.from_raw
# NautilusTrader's raw bounds (PRICE_RAW_MAX, QUANTITY_RAW_MAX; not exported to Python): beyond them its Rust
# core aborts the process, so a book holding such a value is refused with ValueError first
PRICE_RAW_MAX = int(PRICE_MAX) * 10**FIXED_PRECISION
QUANTITY_RAW_MAX = int(QUANTITY_MAX) * 10**FIXED_PRECISION


class CompiledPathUnavailable(Exception):
    """The compiled orderbook path cannot be used here; the message says why."""


def compiled_units_parser(keys: tuple[str, str, str, str]) -> UnitsParser:
    """
    Return the compiled parser of units arrays (:mod:`adapters.upbit.units_parser`) for ``keys``.

    Both paths give identical data; the compiled one only takes frames in Upbit's exact layout and number
    forms and leaves every other frame to :meth:`UnitTokens.to_book`.

    Raises
    ------
    CompiledPathUnavailable
        If it was not built (no C compiler at install), was built against another NautilusTrader, or
        ``ARB_UPBIT_PURE_PYTHON`` is set.

    """
    if os.environ.get("ARB_UPBIT_PURE_PYTHON", "").strip().lower() in ("1", "true", "yes"):
        raise CompiledPathUnavailable("turned off by ARB_UPBIT_PURE_PYTHON")
    try:
        module = importlib.import_module("adapters.upbit.units_parser")
    except ImportError as e:
        raise CompiledPathUnavailable(str(e)) from e
    return module.UnitsParser(keys)


def _all_bytes_but(keep: bytes) -> bytes:
    return bytes(c for c in range(256) if c not in keep)


def token_to_raw(token: bytes, precision: int) -> int:
    """
    Return a JSON number token as a raw fixed-point integer (``value * 10**16``) at ``precision``.

    Exact for every form Upbit writes (``103460000``, ``0.00077720``, ``1.16539E8``, ``8.428e-05``,
    ``1386929.37231066771348207123``); decimals beyond ``precision`` are rounded half-even.

    Raises
    ------
    ValueError
        If ``token`` is not a number, or its exponent is out of any price or size range.

    """
    match = _NUMBER.fullmatch(token)
    if match is None:
        raise ValueError(f"not a JSON number: {token!r}")
    whole, fraction, exponent = match.groups(b"")
    digits = int(whole + fraction)  # the sign rides on the whole part
    shift = (int(exponent) if exponent else 0) - len(fraction) + precision  # value * 10**p = digits * 10**shift
    if abs(shift) > _MAX_EXPONENT + FIXED_PRECISION:
        raise ValueError(f"number out of range: {token!r}")
    if shift >= 0:
        units = digits * 10**shift
    else:
        divisor = 10**-shift
        units, remainder = divmod(abs(digits), divisor)
        if 2 * remainder > divisor or (2 * remainder == divisor and units % 2):
            units += 1  # half-even
        if digits < 0:
            units = -units
    return units * 10 ** (FIXED_PRECISION - precision)


# Java's exponent form ("9.6713E-4", "1.16539E8": Upbit's numbers outside [1e-3, 1e7)) without the regex of
# token_to_raw: the exponents a price or size can have, and how far they may shift the digits
_EXPONENTS = {str(x).encode(): x for x in range(-_MAX_EXPONENT, _MAX_EXPONENT + 1)}
_MAX_SHIFT = _MAX_EXPONENT + FIXED_PRECISION
_NO_EXPONENT = 10 * _MAX_SHIFT  # makes any shift out of range


def _java_token_to_raw(token: bytes, precision: int) -> int:
    # "W.FEX" is int(W + F) * 10**(X - len(F)): exact at precision p when len(F) - X <= p (else rounding),
    # within token_to_raw's range when len(F) - X >= p - _MAX_SHIFT; anything else goes to token_to_raw
    mantissa, e, exponent = token.partition(b"E")
    whole, _, fraction = mantissa.partition(b".")
    digits = whole + fraction
    shift = len(fraction) - _EXPONENTS.get(exponent, _NO_EXPONENT)
    if e and digits.isdigit() and precision - _MAX_SHIFT <= shift <= precision:
        return int(digits) * 10 ** (FIXED_PRECISION - shift)
    return token_to_raw(token, precision)


def tokens_to_raw(tokens: list[bytes], precision: int) -> list[int]:
    """
    Return ``[token_to_raw(t, precision) for t in tokens]``, faster for the forms Upbit writes.

    The plain form (``0.0491016``, ``103460000``) is converted inline (``int`` of the digits times a power
    of ten), Java's exponent form (``9.6713E-4``) by a partition and a table instead of a regex; anything
    else (signs, rounding, lower-case exponents, not a number) by :func:`token_to_raw`.

    Raises
    ------
    ValueError
        If a token is not a number, or its exponent is out of any price or size range.

    """
    raws = []
    scales = _SCALE_BY_DECIMALS
    for token in tokens:
        whole, _, fraction = token.partition(b".")
        digits = whole + fraction
        if len(fraction) <= precision and digits.isdigit():
            raws.append(int(digits) * scales[len(fraction)])
        else:
            raws.append(_java_token_to_raw(token, precision))
    return raws


class RawCache(dict[bytes, int]):
    """
    Token -> raw fixed-point value at one precision, bounded (cleared when full).

    The tokens are JSON values as msgspec has checked them (numbers, or for a malformed payload any other
    JSON value, which is refused with ``ValueError``). New tokens are converted inline for the plain form
    (``0.0491016``: ``int`` of the digits times a power of ten), by :func:`_java_token_to_raw` for Java's
    exponent form and by :func:`token_to_raw` for anything else (signs, rounding, refusals).

    A list whose first and last tokens are both unknown (every size of the book changed) is converted
    without looking its tokens up and without remembering them, but for one such list in eight (which
    goes the usual way, so a cache that missed a change of regime learns again): such tokens are unlikely
    to come again, and the lookups and stores cost about half as much as converting them. A list like the
    last one (same length, same first or last token: the same book with a few sizes changed) is compared
    with it token by token, and only the tokens that differ are looked up. None of this ever changes a
    value, only how it is found.

    Parameters
    ----------
    precision : int
        The precision the raw values are rounded to.
    max_size : int, default 1024
        Entries kept before the cache starts afresh.

    """

    __slots__ = ("_last_raws", "_last_tokens", "cold", "cold_lists", "max_size", "precision")

    def __init__(self, precision: int, max_size: int = 1024) -> None:
        super().__init__()
        self.precision = precision
        self.max_size = max_size
        self.cold = False  # neither the first nor the last token of the last list missed was known
        self.cold_lists = 0  # such lists following another one
        self._last_tokens: list[bytes] = []  # the last list converted, and its values
        self._last_raws: list[int] = []

    def to_raw(self, tokens: list[bytes]) -> list[int]:
        """Return the raw values of ``tokens`` (exact; see :func:`token_to_raw`)."""
        n = len(tokens)
        last = self._last_tokens
        if n == len(last) and n and (tokens[0] == last[0] or tokens[-1] == last[-1]):
            # like the last list (the same book, a few sizes changed): compare token by token instead of
            # looking every token up (comparing two short bytes costs less than hashing one)
            if tokens == last:
                return self._last_raws.copy()
            changed = list(compress(range(n), map(ne, tokens, last)))
            if 4 * len(changed) <= n:
                # all converted before any is patched in: a ValueError leaves the memo whole
                new_raws = self.lookup([tokens[i] for i in changed])
                raws = self._last_raws  # the cache's own list (callers get copies): patched in place
                for i, raw in zip(changed, new_raws, strict=True):
                    raws[i] = raw
                self._last_tokens = tokens
                return raws.copy()
        raws = self._convert(tokens)
        self._last_tokens = tokens
        self._last_raws = raws.copy()
        return raws

    def lookup(self, tokens: list[bytes]) -> list[int]:
        """Return the raw values of a few ``tokens``, each looked up, or converted and remembered."""
        raws = list(map(self.get, tokens))
        if None in raws:
            for i, raw in enumerate(raws):
                if raw is None:
                    if len(self) > self.max_size:
                        self.clear()
                    token = tokens[i]
                    raws[i] = self[token] = tokens_to_raw([token], self.precision)[0]
        return raws  # type: ignore[return-value]

    def _convert(self, tokens: list[bytes]) -> list[int]:
        if not tokens:
            return []
        if self and tokens[0] not in self and tokens[-1] not in self:  # likely all new
            if self.cold:  # and so was the last list: no lookups, no stores
                self.cold_lists += 1
                if self.cold_lists % 8:
                    return tokens_to_raw(tokens, self.precision)
            self.cold = True
        else:
            self.cold = False
            try:
                return list(map(self.__getitem__, tokens))  # all seen before: the usual case for prices
            except KeyError:
                pass
        raws: list[int | None] = list(map(self.get, tokens))
        if len(self) > self.max_size:
            self.clear()
        precision = self.precision
        scales = _SCALE_BY_DECIMALS
        for i in [i for i, raw in enumerate(raws) if raw is None]:
            token = tokens[i]
            whole, _, fraction = token.partition(b".")
            digits = whole + fraction
            if len(fraction) <= precision and digits.isdigit():
                raws[i] = self[token] = int(digits) * scales[len(fraction)]
            else:
                raws[i] = self[token] = _java_token_to_raw(token, precision)
        return raws  # type: ignore[return-value]


_MEMO_MIN_UNITS = 20  # smaller books: the whole-array way (its token caches) is as fast (measured at 15)
_MEMO_PAUSE = 7  # frames taken the whole-array way without comparing, after two misses in a row


class UnitsMemo:
    """
    A market's last orderbook units array, unit by unit (the bytes between ``{`` and ``}``), with the raw
    values of every level in delta order (bid prices then ask prices, sizes alike; zero levels kept).

    Filled and used by :meth:`UnitTokens.to_book`. Every unit in it has been checked to have Upbit's layout,
    and its values always belong to its units: identical bytes convert to identical values, so whatever the
    memo holds (even a frame that is not the last), a book built with it is the book built without it.
    """

    __slots__ = ("misses", "n", "pause", "prices", "sizes", "units")

    def __init__(self) -> None:
        self.units: list[bytes] = []
        self.prices: list[int] = []
        self.sizes: list[int] = []
        self.n = 0  # units in the last array (0: none yet)
        self.misses = 0  # frames in a row that differed from the memo in more than a quarter of their units
        self.pause = 0  # frames left to take the whole-array way without comparing


class UnitTokens:
    """
    Splits an orderbook units array (raw JSON) into its number tokens, in delta order: prices of the bids
    (best first) then of the asks (best first), and their sizes alike.

    The array is first checked to have exactly the layout Upbit writes: with every byte a number can hold
    deleted it must read ``[{"ask_price":,"bid_price":,"ask_size":,"bid_size":},...]`` (DEFAULT; SIMPLE
    alike with ``ap, bp, as, bs``), so the keys, their order and the punctuation are Upbit's and every value
    is a number (msgspec has already checked the JSON). Number bytes that the keys use themselves (the
    ``e`` of ``price``) are kept in that check, so a value using them (``8.428e-05``) fails it. Then every
    byte but the number bytes, ``,`` and ``:`` is deleted: ``:V1,:V2,:V3,...``, and one ``split(b",:")``
    yields the values in document order (a number byte slipped into a key would leave a ``,X:`` the split
    does not cut: the count tells). Any other layout (another key order, whitespace) is decoded unit by
    unit.

    Parameters
    ----------
    keys : tuple[str, str, str, str]
        The JSON keys of ask price, bid price, ask size and bid size, in the order Upbit writes them.
    unit_type : type[msgspec.Struct]
        A Struct with ``ask_price, bid_price, ask_size, bid_size`` fields typed ``msgspec.Raw`` (renamed to
        ``keys``): the decoder for arrays in any other layout.

    """

    def __init__(self, keys: tuple[str, str, str, str], unit_type: type[msgspec.Struct]) -> None:
        key_bytes = set(b"".join(k.encode() for k in keys))
        value_bytes = bytes(c for c in _NUMBER_CHARS if c not in key_bytes)
        if not {*b"0123456789.E+-"} <= {*value_bytes}:
            raise ValueError(f"the values of keys {keys} cannot be told apart")
        self._value_bytes = value_bytes
        self._not_value_bytes = _all_bytes_but(value_bytes + b",:")
        self._unit_inner = b",".join(f'"{k}":'.encode() for k in keys)  # a unit's skeleton inside its braces
        self._unit_skeleton = b"{" + self._unit_inner + b"}"
        self._skeletons: dict[int, tuple[bytes, int]] = {}  # skeleton length -> (skeleton, units)
        self._joined_skeletons: dict[int, bytes] = {}  # k -> the skeleton of k units joined by "},{"
        self._fallback = msgspec.json.Decoder(list[unit_type])  # type: ignore[valid-type]
        self.fallbacks = 0  # arrays not in Upbit's layout, decoded unit by unit

    def _expected(self, length: int) -> tuple[bytes, int] | None:
        expected = self._skeletons.get(length)
        if expected is None:
            n, extra = divmod(length - 1, len(self._unit_skeleton) + 1)  # "[" + n units joined by "," + "]"
            if extra != 0 or not 0 < n <= 64:
                return None
            expected = self._skeletons[length] = (b"[" + b",".join([self._unit_skeleton] * n) + b"]", n)
        return expected

    def _values(self, units: bytes) -> tuple[list[bytes], int] | None:
        # (the value tokens in document order: ask price, bid price, ask size, bid size per unit, n) if the
        # array has Upbit's layout, else None
        skeleton = units.translate(None, self._value_bytes)
        expected = self._expected(len(skeleton))
        if expected is None or skeleton != expected[0]:
            return None
        n = expected[1]
        values = units.translate(None, self._not_value_bytes).split(b",:")  # ":ap", "bp", "as", "bs", "ap"...
        first = values[0]
        if len(values) != 4 * n or first[:1] != b":":
            return None
        values[0] = first[1:]
        return values, n

    def split(self, units: bytes | msgspec.Raw) -> tuple[list[bytes], list[bytes], int]:
        """
        Return ``(prices, sizes, n)``: the tokens of the ``n`` bids then of the ``n`` asks.

        Raises
        ------
        msgspec.ValidationError, msgspec.DecodeError
            If the array is not a list of units of four values each.

        """
        if type(units) is not bytes:
            units = bytes(units)
        fast = self._values(units)
        if fast is not None:
            values, n = fast
            return values[1::4] + values[0::4], values[3::4] + values[2::4], n
        self.fallbacks += 1
        decoded = self._fallback.decode(units)
        return (
            [bytes(u.bid_price) for u in decoded] + [bytes(u.ask_price) for u in decoded],  # type: ignore[attr-defined]
            [bytes(u.bid_size) for u in decoded] + [bytes(u.ask_size) for u in decoded],  # type: ignore[attr-defined]
            len(decoded),
        )

    def to_book(
        self,
        units: bytes | msgspec.Raw,
        price_raw: RawCache,
        size_raw: RawCache,
        memo: UnitsMemo | None = None,
    ) -> RawBook:
        """
        Return a units array as a ``RawBook``, its numbers converted through the market's token caches.

        With the market's ``memo`` (books of ``_MEMO_MIN_UNITS`` units or more), a frame that differs from
        the market's last one in a quarter of its units or fewer (a busy book between two frames: a few
        sizes changed) is cut into units with one ``split``, compared with the memo unit by unit, and only
        the changed units are checked and converted; the others keep the values of the identical bytes.
        Any other frame (the first, another depth, a side that moved, every size changed, another layout)
        takes the whole-array way and refreshes the memo. After two such frames in a row (every size
        changing) the next ``_MEMO_PAUSE`` frames are not compared at all. The result is always the same.

        Raises
        ------
        msgspec.ValidationError, msgspec.DecodeError
            If the array is not a list of units of four values each.
        ValueError
            If a value is not a number.

        """
        if type(units) is not bytes:
            units = bytes(units)
        pieces = None
        if memo is not None:
            if memo.pause > 1:
                memo.pause -= 1
            elif not 0 < memo.n < _MEMO_MIN_UNITS and units[:2] == b"[{" and units[-2:] == b"}]":
                pieces = units[2:-2].split(b"},{")  # the units (a value cannot hold these bytes: checked below)
                if memo.pause:
                    memo.pause = 0  # the last frame of a pause: only refreshes the memo
                elif len(pieces) == len(memo.units):
                    changed = list(compress(range(n := len(pieces)), map(ne, pieces, memo.units)))
                    if 4 * len(changed) <= n:
                        book = self._patch(pieces, changed, memo, price_raw, size_raw)
                        if book is not None:
                            return book
                    else:
                        memo.misses += 1
                        if memo.misses >= 2:
                            memo.pause = _MEMO_PAUSE
        fallbacks = self.fallbacks
        prices, sizes, n = self.split(units)
        price_raws = price_raw.to_raw(prices)
        size_raws = size_raw.to_raw(sizes)
        if memo is not None:
            memo.n = n
            if pieces is not None:
                if self.fallbacks == fallbacks and len(pieces) == n:
                    memo.units = pieces  # each has Upbit's layout: the whole array was checked
                    memo.prices = price_raws.copy()
                    memo.sizes = size_raws.copy()
                else:
                    memo.units = []
        return RawBook(price_raws, size_raws, n)

    def _patch(
        self,
        pieces: list[bytes],
        changed: list[int],
        memo: UnitsMemo,
        price_raw: RawCache,
        size_raw: RawCache,
    ) -> RawBook | None:
        # the book from the memo with the changed units converted, or None (a changed unit not in Upbit's
        # layout: the whole-array way decides)
        n, k = len(pieces), len(changed)
        if k:
            # the changed units checked and split together, as the whole array is (see _values)
            joined = b"},{".join([pieces[i] for i in changed])
            expected = self._joined_skeletons.get(k)
            if expected is None:
                expected = self._joined_skeletons[k] = b"},{".join([self._unit_inner] * k)
            if joined.translate(None, self._value_bytes) != expected:
                return None
            values = joined.translate(None, self._not_value_bytes).split(b",:")  # per unit: ap, bp, as, bs
            if len(values) != 4 * k or values[0][:1] != b":":
                return None
            values[0] = values[0][1:]
            # all converted before any is patched in: a ValueError leaves the memo whole
            price_raws = price_raw.lookup(values[0::4] + values[1::4])  # asks, then bids: mostly known
            size_raws = size_raw.lookup(values[2::4] + values[3::4])
            prices, sizes = memo.prices, memo.sizes
            for j, i in enumerate(changed):
                prices[n + i], prices[i] = price_raws[j], price_raws[k + j]
                sizes[n + i], sizes[i] = size_raws[j], size_raws[k + j]
        memo.units = pieces
        memo.misses = 0
        return RawBook(memo.prices.copy(), memo.sizes.copy(), n)


class RawBook:
    """
    A book in raw fixed-point values, in delta order: bids best first, then asks best first.

    Levels with a zero price or size (Upbit pads a thin side with them) are dropped.

    Parameters
    ----------
    prices, sizes : list[int]
        Raw values (``value * 10**16``) at the instrument's precisions: ``n_bids`` bid levels, then asks.
    n_bids : int
        How many of the levels are bids.

    """

    __slots__ = ("n_bids", "prices", "sizes")

    def __init__(self, prices: list[int], sizes: list[int], n_bids: int) -> None:
        if prices and (max(prices) > PRICE_RAW_MAX or min(prices) < -PRICE_RAW_MAX or max(sizes) > QUANTITY_RAW_MAX):
            # beyond NautilusTrader's bounds its Rust core would abort the process on building the data
            raise ValueError(
                f"price or size out of NautilusTrader's range (raw prices {min(prices)}..{max(prices)}, "
                f"largest raw size {max(sizes)})",
            )
        if not (all(prices) and all(sizes)):
            kept = [i for i, (price, size) in enumerate(zip(prices, sizes, strict=True)) if price and size]
            prices = [prices[i] for i in kept]
            sizes = [sizes[i] for i in kept]
            n_bids = sum(1 for i in kept if i < n_bids)
        self.prices = prices
        self.sizes = sizes
        self.n_bids = n_bids

    @classmethod
    def from_sides(
        cls,
        bid_prices: list[int],
        bid_sizes: list[int],
        ask_prices: list[int],
        ask_sizes: list[int],
    ) -> RawBook:
        """Return a book from its two sides (best levels first)."""
        return cls(bid_prices + ask_prices, bid_sizes + ask_sizes, len(bid_prices))

    @property
    def bid_prices(self) -> list[int]:
        """Return the bid prices, best first."""
        return self.prices[: self.n_bids]

    @property
    def bid_sizes(self) -> list[int]:
        """Return the bid sizes, best first."""
        return self.sizes[: self.n_bids]

    @property
    def ask_prices(self) -> list[int]:
        """Return the ask prices, best first."""
        return self.prices[self.n_bids :]

    @property
    def ask_sizes(self) -> list[int]:
        """Return the ask sizes, best first."""
        return self.sizes[self.n_bids :]

    def crossed(self) -> tuple[int, int] | None:
        """Return ``(best bid raw, best ask raw)`` when the book is locked or crossed, else ``None``."""
        n_bids, prices = self.n_bids, self.prices
        if 0 < n_bids < len(prices) and prices[0] >= prices[n_bids]:
            return prices[0], prices[n_bids]
        return None

    def to_deltas(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        sequence: int,
        ts_event: int,
        ts_init: int,
    ) -> OrderBookDeltas:
        """Return the book as snapshot ``OrderBookDeltas`` (see :func:`book_to_deltas`)."""
        return book_to_deltas(self, instrument_id, price_precision, size_precision, sequence, ts_event, ts_init)

    def to_quote(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        ts_event: int,
        ts_init: int,
    ) -> QuoteTick | None:
        """Return the top of the book as a ``QuoteTick``; ``None`` when a side is empty."""
        return book_to_quote(self, instrument_id, price_precision, size_precision, ts_event, ts_init)

    def truncated(self, depth: int) -> RawBook:
        """Return the book cut to ``depth`` (>= 0) levels a side."""
        if depth < 0:
            raise ValueError(f"depth must be >= 0, was {depth}")
        if self.n_bids <= depth and len(self.prices) - self.n_bids <= depth:
            return self
        return RawBook.from_sides(
            self.bid_prices[:depth],
            self.bid_sizes[:depth],
            self.ask_prices[:depth],
            self.ask_sizes[:depth],
        )


_SIDES: dict[tuple[int, int], list[int]] = {}
_FLAGS: dict[int, list[int]] = {}


def book_to_deltas(
    book: RawBook,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    sequence: int,
    ts_event: int,
    ts_init: int,
) -> OrderBookDeltas:
    """
    Return the book as snapshot ``OrderBookDeltas``: ``CLEAR`` then one ``ADD`` per level (bids, then asks).

    Upbit sends the whole book in every frame with no sequence or checksum, so the book is replaced, never
    merged. Every delta carries ``F_SNAPSHOT``, the last one ``F_LAST`` too.
    """
    n = len(book.prices)
    n_bids = book.n_bids
    clear = _from_raw(
        instrument_id,
        _CLEAR,
        _NO_SIDE,
        0,
        price_precision,
        0,
        size_precision,
        0,
        _F_SNAPSHOT if n else _F_LAST_SNAPSHOT,
        sequence,
        ts_event,
        ts_init,
    )
    deltas = [clear]
    if n:
        sides = _SIDES.get((n_bids, n))
        if sides is None:
            sides = _SIDES.setdefault((n_bids, n), [_BUY] * n_bids + [_SELL] * (n - n_bids))
        flags = _FLAGS.get(n)
        if flags is None:
            flags = _FLAGS.setdefault(n, [_F_SNAPSHOT] * (n - 1) + [_F_LAST_SNAPSHOT])
        deltas += [
            _from_raw(
                instrument_id,
                _ADD,
                side,
                price,
                price_precision,
                size,
                size_precision,
                0,
                flag,
                sequence,
                ts_event,
                ts_init,
            )
            for side, price, size, flag in zip(sides, book.prices, book.sizes, flags, strict=True)
        ]
    return OrderBookDeltas(instrument_id, deltas)


def book_to_quote(
    book: RawBook,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    ts_event: int,
    ts_init: int,
) -> QuoteTick | None:
    """Return the top of the book as a ``QuoteTick``; ``None`` when a side is empty."""
    n_bids = book.n_bids
    if n_bids == 0 or n_bids == len(book.prices):
        return None
    prices, sizes = book.prices, book.sizes
    return QuoteTick.from_raw(
        instrument_id,
        prices[0],
        prices[n_bids],
        price_precision,
        price_precision,
        sizes[0],
        sizes[n_bids],
        size_precision,
        size_precision,
        ts_event,
        ts_init,
    )
