"""ClientOrderIds: NautilusTrader's id format and sequence, without its per-order pandas Timestamp."""

from __future__ import annotations

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import StrategyId
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.model.objects import Quantity

from arb_plugin.order_ids import ClientOrderIds

TRADER = TraderId("ARB-001")
STRATEGY = StrategyId("KimchiArb-007")
# 2024-02-29 23:59:59.999999999 UTC: the next nanosecond changes the second, the day and the month
LEAP_DAY_LAST_NS = 1_709_251_199_999_999_999


def _parts(clock: TestClock, cache: Cache | None = None) -> tuple[OrderFactory, ClientOrderIds, Cache]:
    cache = cache or Cache()
    factory = OrderFactory(TRADER, STRATEGY, clock, cache=cache)
    return factory, ClientOrderIds(factory, clock, cache, TRADER, STRATEGY), cache


def test_ids_equal_the_ones_nautilus_trader_generates_across_a_second_day_and_month_boundary() -> None:
    ours_clock, nt_clock = TestClock(), TestClock()
    _, ours, _ = _parts(ours_clock)
    nt_factory, _, _ = _parts(nt_clock)
    produced: list[tuple[str, str]] = []
    for ts in (0, 1_000_000_000, LEAP_DAY_LAST_NS, LEAP_DAY_LAST_NS + 1, LEAP_DAY_LAST_NS + 1_000_000_000):
        ours_clock.set_time(ts)
        nt_clock.set_time(ts)
        for _ in range(2):
            mine = ours.next()
            assert mine is not None
            produced.append((mine.value, nt_factory.generate_client_order_id().value))
    assert [m for m, _ in produced] == [n for _, n in produced]
    assert produced[4][0] == "O-20240229-235959-001-007-5"
    assert produced[6][0] == "O-20240301-000000-001-007-7"


def test_one_sequence_with_the_factory_own_ids_and_its_restored_count() -> None:
    clock = TestClock()
    clock.set_time(LEAP_DAY_LAST_NS)
    factory, ours, _ = _parts(clock)
    factory.set_client_order_id_count(41)  # what NautilusTrader restores from the cache when a strategy starts
    first = ours.next()
    native = factory.generate_client_order_id()  # e.g. Strategy.close_all_positions
    second = ours.next()
    assert [i.value.rsplit("-", 1)[1] for i in (first, native, second) if i is not None] == ["42", "43", "44"]
    assert factory.get_client_order_id_count() == 44


def test_an_id_the_cache_already_holds_is_skipped() -> None:
    clock = TestClock()
    factory, ours, cache = _parts(clock)
    taken = factory.market(InstrumentId.from_str("BTCUSDT.BINANCE"), OrderSide.BUY, Quantity.from_str("0.01"))
    cache.add_order(taken)
    factory.set_client_order_id_count(0)  # the count lost (e.g. a cache restored without it)
    fresh = ours.next()
    assert taken.client_order_id == ClientOrderId("O-19700101-000000-001-007-1")
    assert fresh == ClientOrderId("O-19700101-000000-001-007-2")
    assert factory.get_client_order_id_count() == 2


def test_uuid_or_hyphenless_ids_stay_with_nautilus_trader() -> None:
    clock = TestClock()
    factory = OrderFactory(TRADER, STRATEGY, clock, use_uuid_client_order_ids=True)
    ours = ClientOrderIds(factory, clock, Cache(), TRADER, STRATEGY, native=True)
    assert ours.next() is None
    assert factory.get_client_order_id_count() == 0
