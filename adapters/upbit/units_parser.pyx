# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""
Compiled fast path of :mod:`adapters.upbit.orderbook`: an orderbook units array to NautilusTrader data.

:class:`UnitsParser` reads a units array written exactly the way Upbit writes it
(``[{"ask_price":V,"bid_price":V,"ask_size":V,"bid_size":V},...]``, or the SIMPLE keys) in one C pass, each
number straight into a fixed-point raw value (``value * 10**16``) at the instrument's precision, and
:class:`ParsedBook` builds the snapshot ``OrderBookDeltas`` and the top-of-book ``QuoteTick`` from those C
values with no Python integer per level (their C structs written as NautilusTrader's ``from_raw_c``
constructors write them, whose checks hold by construction). The module is compiled against the pinned NautilusTrader's
``.pxd`` files and refuses to import under any other version.

It takes only what it can convert exactly without rounding: unsigned digits with an optional fraction and
an optional upper-case exponent (``159508000``, ``3000.0``, ``0.00077720``, ``1.16539E8``, ``9.6713E-4``),
no non-zero digit beyond the precision, within NautilusTrader's raw bounds. For anything else (another layout or key
order, whitespace, a sign, a lower-case exponent, rounding, out of range) :meth:`UnitsParser.parse` returns
``None`` and the caller takes the pure-Python path (:meth:`adapters.upbit.orderbook.UnitTokens.to_book`),
which gives the same values or raises the error. Both paths give identical data (tested frame by frame).
"""

from libc.stdint cimport uint8_t
from libc.string cimport memcmp
from libc.stdint cimport uint64_t

from nautilus_trader.core.rust.model cimport BookAction
from nautilus_trader.core.rust.model cimport OrderSide
from nautilus_trader.core.rust.model cimport PriceRaw
from nautilus_trader.core.rust.model cimport QuantityRaw
from nautilus_trader.core.rust.model cimport uint128_t as u128  # __uint128_t (model.h)
from nautilus_trader.model.data cimport OrderBookDelta
from nautilus_trader.model.data cimport OrderBookDeltas
from nautilus_trader.model.data cimport QuoteTick
from nautilus_trader.model.identifiers cimport InstrumentId

cdef enum:
    MAX_UNITS = 64  # the pure-Python path's bound too
    FIXED_PRECISION = 16
    MAX_DIGITS = 36  # significant digits an unsigned 128-bit value always holds (10**36 < 2**127)
    MAX_SMALL_DIGITS = 19  # significant digits a 64-bit value always holds (10**19 < 2**64)
    F_SNAPSHOT = 32  # RecordFlag.F_SNAPSHOT
    F_LAST_SNAPSHOT = 160  # RecordFlag.F_SNAPSHOT | RecordFlag.F_LAST

ctypedef unsigned char uchar

cdef extern from *:
    """
    #ifndef ARB_NAUTILUS_VERSION
    #define ARB_NAUTILUS_VERSION "unknown"
    #endif
    """
    const char* ARB_NAUTILUS_VERSION  # set by setup.py: the NautilusTrader this was compiled against

import nautilus_trader as _nautilus_trader

from nautilus_trader.model.objects import FIXED_PRECISION as _NAUTILUS_FIXED_PRECISION
from nautilus_trader.model.objects import PRICE_MAX
from nautilus_trader.model.objects import QUANTITY_MAX

BUILT_AGAINST = ARB_NAUTILUS_VERSION.decode()
if _nautilus_trader.__version__ != BUILT_AGAINST:
    raise ImportError(
        f"adapters.upbit.units_parser was compiled against NautilusTrader {BUILT_AGAINST}, this is "
        f"{_nautilus_trader.__version__}: reinstall arb-plugin to recompile it",
    )
if _NAUTILUS_FIXED_PRECISION != FIXED_PRECISION:
    raise ImportError(f"NautilusTrader's fixed precision is {_NAUTILUS_FIXED_PRECISION}, not {FIXED_PRECISION}")

cdef enum:
    MAX_SCALE = 39  # 10**39 > 2**128: any non-zero digits scaled this far are out of range
    MAX_SHIFT = 56  # the largest decimal shift the Python path takes (orderbook._MAX_SHIFT)

# 10**k, and the largest digits that scaled by 10**k stay within NautilusTrader's raw bounds (PRICE_RAW_MAX,
# QUANTITY_RAW_MAX: not exported to Python), for k < MAX_SCALE. Computed in C 128-bit integer arithmetic (a
# C-level ``10 ** FIXED_PRECISION`` in an expression is a double ``pow`` in Cython: not exact at these sizes).
cdef u128 _POW10[MAX_SCALE]
cdef u128 _PRICE_DIGITS_MAX[MAX_SCALE]
cdef u128 _SIZE_DIGITS_MAX[MAX_SCALE]


cdef void _init_tables(uint64_t price_max, uint64_t quantity_max):
    cdef int k
    _POW10[0] = 1
    for k in range(1, MAX_SCALE):
        _POW10[k] = _POW10[k - 1] * 10
    cdef u128 price_raw_max = <u128>price_max * _POW10[FIXED_PRECISION]
    cdef u128 quantity_raw_max = <u128>quantity_max * _POW10[FIXED_PRECISION]
    for k in range(MAX_SCALE):
        _PRICE_DIGITS_MAX[k] = price_raw_max // _POW10[k]
        _SIZE_DIGITS_MAX[k] = quantity_raw_max // _POW10[k]


if PRICE_MAX != int(PRICE_MAX) or QUANTITY_MAX != int(QUANTITY_MAX):
    raise ImportError(f"NautilusTrader's PRICE_MAX {PRICE_MAX} or QUANTITY_MAX {QUANTITY_MAX} is not whole")
_init_tables(int(PRICE_MAX), int(QUANTITY_MAX))


cdef class ParsedBook:
    """
    A book in raw fixed-point C values, in delta order: bids best first, then asks best first.

    Levels with a zero price or size (Upbit pads a thin side with them) are dropped, as
    :class:`adapters.upbit.orderbook.RawBook` drops them.
    """

    cdef PriceRaw prices[2 * MAX_UNITS]
    cdef QuantityRaw sizes[2 * MAX_UNITS]
    cdef readonly int n_bids
    """The number of bid levels."""
    cdef readonly int n_levels
    """The number of levels, bids and asks."""
    cdef readonly int price_precision
    """The price precision the book was read at (its raw prices are multiples of ``10**(16 - it)``)."""
    cdef readonly int size_precision
    """The size precision the book was read at."""

    cdef void _check_precisions(self, int price_precision, int size_precision) except *:
        if price_precision != self.price_precision or size_precision != self.size_precision:
            raise ValueError(
                f"book read at precisions {self.price_precision}/{self.size_precision}, "
                f"not {price_precision}/{size_precision}",
            )

    def crossed(self):
        """Return ``(best bid raw, best ask raw)`` when the book is locked or crossed, else ``None``."""
        if 0 < self.n_bids < self.n_levels and self.prices[0] >= self.prices[self.n_bids]:
            return int(self.prices[0]), int(self.prices[self.n_bids])
        return None

    def raw_levels(self):
        """Return ``(prices, sizes, n_bids)`` as Python integers (for tests and diagnostics)."""
        cdef int i
        return (
            [int(self.prices[i]) for i in range(self.n_levels)],
            [int(self.sizes[i]) for i in range(self.n_levels)],
            self.n_bids,
        )

    cpdef ParsedBook truncated(self, int depth):
        """Return the book cut to ``depth`` (>= 0) levels a side (``self`` when it has no more)."""
        if depth < 0:
            raise ValueError(f"depth must be >= 0, was {depth}")
        cdef int n_asks = self.n_levels - self.n_bids
        if self.n_bids <= depth and n_asks <= depth:
            return self
        cdef ParsedBook book = ParsedBook.__new__(ParsedBook)
        cdef int bids = min(self.n_bids, depth)
        cdef int asks = min(n_asks, depth)
        cdef int i
        for i in range(bids):
            book.prices[i] = self.prices[i]
            book.sizes[i] = self.sizes[i]
        for i in range(asks):
            book.prices[bids + i] = self.prices[self.n_bids + i]
            book.sizes[bids + i] = self.sizes[self.n_bids + i]
        book.n_bids = bids
        book.n_levels = bids + asks
        book.price_precision = self.price_precision
        book.size_precision = self.size_precision
        return book

    cpdef OrderBookDeltas to_deltas(
        self,
        InstrumentId instrument_id,
        uint8_t price_precision,
        uint8_t size_precision,
        uint64_t sequence,
        uint64_t ts_event,
        uint64_t ts_init,
    ):
        """
        Return the book as snapshot ``OrderBookDeltas``: ``CLEAR`` then one ``ADD`` per level.

        The deltas' C structs are written as ``OrderBookDelta.from_raw_c`` writes them, its checks holding by
        construction (every size positive, every value within NautilusTrader's bounds and a multiple of the
        precision's increment: :meth:`UnitsParser.parse`), into a pool of delta objects that
        ``OrderBookDeltas`` only copies from (it keeps its own C vector, never the objects).

        Raises
        ------
        ValueError
            If the precisions are not the ones the book was read at.
        """
        self._check_precisions(price_precision, size_precision)
        cdef int n = self.n_levels
        cdef list pooled = _DELTA_POOL[: n + 1]  # (the one allocation: before any struct is written)
        cdef OrderBookDelta delta = _DELTA_POOL[0]
        _write_delta(
            delta, instrument_id, BookAction.CLEAR, OrderSide.NO_ORDER_SIDE, 0, price_precision, 0,
            size_precision, F_SNAPSHOT if n else F_LAST_SNAPSHOT, sequence, ts_event, ts_init,
        )
        cdef int i
        for i in range(n):
            delta = _DELTA_POOL[i + 1]
            _write_delta(
                delta,
                instrument_id,
                BookAction.ADD,
                OrderSide.BUY if i < self.n_bids else OrderSide.SELL,
                self.prices[i],
                price_precision,
                self.sizes[i],
                size_precision,
                F_LAST_SNAPSHOT if i == n - 1 else F_SNAPSHOT,
                sequence,
                ts_event,
                ts_init,
            )
        return OrderBookDeltas(instrument_id, pooled)

    cpdef QuoteTick to_quote(
        self,
        InstrumentId instrument_id,
        uint8_t price_precision,
        uint8_t size_precision,
        uint64_t ts_event,
        uint64_t ts_init,
    ):
        """
        Return the top of the book as a ``QuoteTick``; ``None`` when a side is empty.

        Its C struct is written as ``QuoteTick.from_raw_c`` writes it (the same checks hold by construction).

        Raises
        ------
        ValueError
            If the precisions are not the ones the book was read at.
        """
        self._check_precisions(price_precision, size_precision)
        cdef int b = self.n_bids
        if b == 0 or b == self.n_levels:
            return None
        cdef QuoteTick quote = QuoteTick.__new__(QuoteTick)
        quote._mem.instrument_id = instrument_id._mem
        quote._mem.bid_price.raw = self.prices[0]
        quote._mem.bid_price.precision = price_precision
        quote._mem.ask_price.raw = self.prices[b]
        quote._mem.ask_price.precision = price_precision
        quote._mem.bid_size.raw = self.sizes[0]
        quote._mem.bid_size.precision = size_precision
        quote._mem.ask_size.raw = self.sizes[b]
        quote._mem.ask_size.precision = size_precision
        quote._mem.ts_event = ts_event
        quote._mem.ts_init = ts_init
        return quote


# delta objects whose C structs to_deltas writes before OrderBookDeltas copies them (a CLEAR and every level)
cdef list _DELTA_POOL = [OrderBookDelta.__new__(OrderBookDelta) for _ in range(2 * MAX_UNITS + 1)]


cdef inline void _write_delta(
    OrderBookDelta delta,
    InstrumentId instrument_id,
    BookAction action,
    OrderSide side,
    PriceRaw price,
    uint8_t price_precision,
    QuantityRaw size,
    uint8_t size_precision,
    uint8_t flags,
    uint64_t sequence,
    uint64_t ts_event,
    uint64_t ts_init,
) noexcept:
    delta._mem.instrument_id = instrument_id._mem
    delta._mem.action = action
    delta._mem.order.side = side
    delta._mem.order.price.raw = price
    delta._mem.order.price.precision = price_precision
    delta._mem.order.size.raw = size
    delta._mem.order.size.precision = size_precision
    delta._mem.order.order_id = 0
    delta._mem.flags = flags
    delta._mem.sequence = sequence
    delta._mem.ts_event = ts_event
    delta._mem.ts_init = ts_init


cdef inline bint _expect(
    const uchar* data,
    Py_ssize_t end,
    Py_ssize_t* pos,
    const uchar* text,
    Py_ssize_t length,
) noexcept:
    cdef Py_ssize_t p = pos[0]
    if p + length > end or memcmp(data + p, text, length) != 0:
        return False
    pos[0] = p + length
    return True


cdef inline void _push_digit(int digit, uint64_t* small, u128* wide, int* significant) noexcept:
    # one more digit of a mantissa: in 64 bits while it has at most MAX_SMALL_DIGITS significant digits
    # (< 10**19 < 2**64), in 128 bits from the next one on (``wide`` then holds the value, ``small`` is stale)
    if significant[0] or digit:
        significant[0] += 1
    if significant[0] <= MAX_SMALL_DIGITS:
        small[0] = small[0] * 10 + digit
    elif significant[0] == MAX_SMALL_DIGITS + 1:
        wide[0] = <u128>small[0] * 10 + digit
    else:
        wide[0] = wide[0] * 10 + digit


cdef inline bint _number(
    const uchar* data,
    Py_ssize_t end,
    Py_ssize_t* pos,
    int precision,
    const u128* digits_max,
    u128* out,
) noexcept:
    # an unsigned JSON number at data[pos] as value * 10**16, exact at `precision`, within `digits_max`
    cdef Py_ssize_t p = pos[0]
    cdef u128 digits = 0
    cdef uint64_t small = 0  # the digits while they fit 64 bits (up to 19 significant): the usual case
    cdef int significant = 0
    cdef int decimals = 0
    cdef int exponent = 0
    cdef int exponent_digits = 0
    cdef bint negative_exponent = False
    cdef int scale
    cdef int shift
    if p >= end or not (b"0"[0] <= data[p] <= b"9"[0]):
        return False
    while p < end and b"0"[0] <= data[p] <= b"9"[0]:
        _push_digit(data[p] - b"0"[0], &small, &digits, &significant)
        p += 1
        if significant > MAX_DIGITS:
            return False
    if p < end and data[p] == b"."[0]:
        p += 1
        if p >= end or not (b"0"[0] <= data[p] <= b"9"[0]):
            return False
        while p < end and b"0"[0] <= data[p] <= b"9"[0]:
            _push_digit(data[p] - b"0"[0], &small, &digits, &significant)
            decimals += 1
            p += 1
            if significant > MAX_DIGITS or decimals > 60:
                return False
    if significant <= MAX_SMALL_DIGITS:
        digits = small
    if p < end and data[p] == b"E"[0]:
        p += 1
        if p < end and (data[p] == b"-"[0] or data[p] == b"+"[0]):
            negative_exponent = data[p] == b"-"[0]
            p += 1
        while p < end and b"0"[0] <= data[p] <= b"9"[0]:
            exponent = exponent * 10 + (data[p] - b"0"[0])
            exponent_digits += 1
            p += 1
            if exponent_digits > 3:
                return False
        if exponent_digits == 0:
            return False
        if negative_exponent:
            exponent = -exponent
    # value * 10**precision = digits * 10**shift: decimals beyond the precision must be zeros ("3000.0" at
    # precision 0, Java's form of a whole number); rounding is left to the Python path
    shift = exponent - decimals + precision
    if digits == 0:
        if shift > MAX_SHIFT or shift < -MAX_SHIFT:
            return False  # out of any range for the Python path: it refuses the frame
        out[0] = 0
        pos[0] = p
        return True
    if shift < 0:
        if -shift >= MAX_SCALE or digits % _POW10[-shift]:
            return False
        digits //= _POW10[-shift]
        shift = 0
    scale = shift + FIXED_PRECISION - precision  # raw = digits * 10**scale
    if scale >= MAX_SCALE or digits > digits_max[scale]:
        return False
    out[0] = digits * _POW10[scale]
    pos[0] = p
    return True


cdef class UnitsParser:
    """
    Reads orderbook units arrays in Upbit's exact layout into :class:`ParsedBook` objects.

    Parameters
    ----------
    keys : tuple[str, str, str, str]
        The JSON keys of ask price, bid price, ask size and bid size, in the order Upbit writes them.

    """

    cdef bytes _ask_price
    cdef bytes _bid_price
    cdef bytes _ask_size
    cdef bytes _bid_size

    def __init__(self, tuple keys not None):
        if len(keys) != 4:
            raise ValueError(f"four keys expected, got {keys!r}")
        self._ask_price = b'{"' + keys[0].encode() + b'":'
        self._bid_price = b',"' + keys[1].encode() + b'":'
        self._ask_size = b',"' + keys[2].encode() + b'":'
        self._bid_size = b',"' + keys[3].encode() + b'":'

    cpdef ParsedBook parse(self, const uchar[::1] units, int price_precision, int size_precision):
        """
        Return the units array as a :class:`ParsedBook`, or ``None`` when it is not in the exact layout and
        number forms this path converts (the pure-Python path then decides).
        """
        if not (0 <= price_precision <= FIXED_PRECISION and 0 <= size_precision <= FIXED_PRECISION):
            return None
        cdef const u128* price_bound = _PRICE_DIGITS_MAX
        cdef const u128* size_bound = _SIZE_DIGITS_MAX
        cdef u128 bid_prices[MAX_UNITS]
        cdef u128 ask_prices[MAX_UNITS]
        cdef u128 bid_sizes[MAX_UNITS]
        cdef u128 ask_sizes[MAX_UNITS]
        cdef const uchar* ask_price = self._ask_price
        cdef const uchar* bid_price = self._bid_price
        cdef const uchar* ask_size = self._ask_size
        cdef const uchar* bid_size = self._bid_size
        cdef Py_ssize_t ask_price_len = len(self._ask_price)
        cdef Py_ssize_t bid_price_len = len(self._bid_price)
        cdef Py_ssize_t ask_size_len = len(self._ask_size)
        cdef Py_ssize_t bid_size_len = len(self._bid_size)
        cdef Py_ssize_t end = units.shape[0]
        cdef Py_ssize_t pos = 1
        cdef int n = 0
        cdef int i
        cdef int k
        if end < 2 or units[0] != b"["[0]:
            return None
        cdef const uchar* data = &units[0]
        while True:
            if n == MAX_UNITS:
                return None
            if not (
                _expect(data, end, &pos, ask_price, ask_price_len)
                and _number(data, end, &pos, price_precision, price_bound, &ask_prices[n])
                and _expect(data, end, &pos, bid_price, bid_price_len)
                and _number(data, end, &pos, price_precision, price_bound, &bid_prices[n])
                and _expect(data, end, &pos, ask_size, ask_size_len)
                and _number(data, end, &pos, size_precision, size_bound, &ask_sizes[n])
                and _expect(data, end, &pos, bid_size, bid_size_len)
                and _number(data, end, &pos, size_precision, size_bound, &bid_sizes[n])
                and pos < end
                and data[pos] == b"}"[0]
            ):
                return None
            n += 1
            pos += 1
            if pos < end and data[pos] == b","[0]:
                pos += 1
                continue
            if pos == end - 1 and data[pos] == b"]"[0]:
                break
            return None
        cdef ParsedBook book = ParsedBook.__new__(ParsedBook)
        k = 0
        for i in range(n):
            if bid_prices[i] and bid_sizes[i]:
                book.prices[k] = <PriceRaw>bid_prices[i]
                book.sizes[k] = <QuantityRaw>bid_sizes[i]
                k += 1
        book.n_bids = k
        for i in range(n):
            if ask_prices[i] and ask_sizes[i]:
                book.prices[k] = <PriceRaw>ask_prices[i]
                book.sizes[k] = <QuantityRaw>ask_sizes[i]
                k += 1
        book.n_levels = k
        book.price_precision = price_precision
        book.size_precision = size_precision
        return book
