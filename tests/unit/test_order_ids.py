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


def test_issue_keys_order_this_strategys_ids_by_time_then_count_and_refuse_others() -> None:
    clock = TestClock()
    _, ours, _ = _parts(clock)
    clock.set_time(LEAP_DAY_LAST_NS)
    late_in_a_second = [ours.next() for _ in range(11)]  # counts 1..11: "-10" sorts before "-2" as text
    clock.set_time(LEAP_DAY_LAST_NS + 1)  # the next second (a restart's process counts again from 1)
    other_factory = OrderFactory(TRADER, STRATEGY, clock, cache=Cache())
    restarted = ClientOrderIds(other_factory, clock, Cache(), TRADER, STRATEGY).next()
    ids = [i.value for i in late_in_a_second if i is not None] + [restarted.value if restarted else ""]
    keys = [ours.issue_key(i) for i in ids]
    assert keys == sorted(keys)  # issue order, not text order
    assert ours.issue_key(ids[9]) == ("20240229-235959", 10)
    assert keys[-1] == ("20240301-000000", 1)
    assert ours.time_key(LEAP_DAY_LAST_NS + 1) == ("20240301-000000", 0) < keys[-1]
    assert ours.time_key(LEAP_DAY_LAST_NS + 1) > keys[-2]
    # another strategy's, another trader's, NautilusTrader's UUID ids and garbage have no key
    for foreign in (
        "O-20240229-235959-001-008-3",  # another strategy of this trader
        "O-20240229-235959-002-007-3",  # another trader
        "O-20240229-235959-001-007-",
        "O-20240229-235959-001-007-3x",
        "8f14e45f-ceea-467f-a5f1-2f2d3a1b9c3e",
        "",
    ):
        assert ours.issue_key(foreign) is None, foreign
    assert ours.issue_key("O-20240229-235959-001-007-3") == ("20240229-235959", 3)
