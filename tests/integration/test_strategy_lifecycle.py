"""
ArbitrageStrategy on real windows of the shipped catalog: entries where the edge crosses the threshold,
exits on convergence, fills at the assumed half-spread, both directions.

The expected trades are recomputed here from the catalog bars with the pure spread math, independently of
the strategy's integer screen and state machine.
"""

import uuid
from decimal import ROUND_FLOOR
from decimal import Decimal

import pandas as pd
import pytest
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from arb_plugin.events import Direction
from arb_plugin.events import PairStatus
from arb_plugin.instruments import btcusdt_binance
from arb_plugin.instruments import krw_btc_upbit
from arb_plugin.pricing import bar_bid_ask
from arb_plugin.spread import LegCost
from arb_plugin.spread import compute_edges
from tests.support import BINANCE_BARS
from tests.support import CATALOG
from tests.support import FX_BARS
from tests.support import UPBIT_BARS
from tests.support import fills_of
from tests.support import run_strategy
from tests.support import strategy_config

D = Decimal
START, END = "2024-11-20", "2024-12-15"
HALF_SPREAD = D(2)


Q = D("0.000001")


def floor_q(x: Decimal) -> Decimal:
    return x.quantize(Q, rounding=ROUND_FLOOR)


def expected_trades(
    entry_bps: Decimal,
    exit_bps: Decimal,
    window_mins: int | None = None,
    min_samples: int = 0,
) -> list[tuple[int, str, Direction]]:
    """
    Replay the lifecycle on the bars: (ts, "enter"|"exit", direction).

    With ``window_mins``, thresholds are relative to the mean edge of each direction over the previous
    ``window_mins`` minutes (one sample a minute, the current minute excluded; samples and means floored to
    1e-6 bps).
    """
    cat = ParquetDataCatalog(str(CATALOG))
    binance = {b.ts_init: b.close.as_decimal() for b in cat.bars(bar_types=[BINANCE_BARS])}
    upbit = {b.ts_init: b.close.as_decimal() for b in cat.bars(bar_types=[UPBIT_BARS])}
    fx = sorted((b.ts_init, b.close.as_decimal()) for b in cat.bars(bar_types=[FX_BARS]))
    b_inst, u_inst = btcusdt_binance(), krw_btc_upbit()
    costs = LegCost(D("0.001"), D(2)), LegCost(D("0.0005"), D(2))
    out, state, samples = [], None, []
    for ts in sorted(set(binance) & set(upbit)):
        rate = [r for t, r in fx if t <= ts][-1]
        bb, ba = bar_bid_ask(b_inst, binance[ts], HALF_SPREAD)
        ub, ua = bar_bid_ask(u_inst, upbit[ts], HALF_SPREAD)
        a, b = compute_edges(bb.as_decimal(), ba.as_decimal(), ub.as_decimal(), ua.as_decimal(), rate, *costs)
        base_a = base_b = D(0)
        if window_mins is not None:
            samples = [s for s in samples if s[0] > ts - window_mins * 60 * 10**9]
            if len(samples) >= min_samples:
                base_a = floor_q(sum(s[1] for s in samples) / len(samples))
                base_b = floor_q(sum(s[2] for s in samples) / len(samples))
            samples.append((ts, floor_q(a.bps), floor_q(b.bps)))
            if len(samples) <= min_samples:
                continue
        if state is None:
            if a.bps - base_a >= entry_bps:
                state = Direction.BUY_BINANCE
                out.append((ts, "enter", state))
            elif b.bps - base_b >= entry_bps:
                state = Direction.BUY_UPBIT
                out.append((ts, "enter", state))
        elif (a.bps - base_a if state is Direction.BUY_BINANCE else b.bps - base_b) < exit_bps:
            out.append((ts, "exit", state))
            state = None
    return out


def traded(engine) -> list[tuple[int, str]]:
    """(ts, intent) of every Upbit fill."""
    seen = []
    for fill, order in fills_of(engine):
        intent = [t for t in order.tags if t.startswith("intent=")][0].split("=")[1]
        if order.instrument_id.venue.value == "UPBIT":
            seen.append((fill.ts_event, intent))
    return seen


@pytest.fixture(scope="module")
def run():
    # outliers are exercised in their own test; here every print is taken as is
    engine, strategy, recorder = run_strategy(START, END, strategy_config(outlier_jump_pct=D(50)))
    yield engine, strategy, recorder
    engine.dispose()


def test_entries_and_exits_happen_where_the_edge_crosses(run):
    engine, strategy, recorder = run
    seen = traded(engine)
    expected = expected_trades(D(100), D(0))
    assert len(expected) >= 10  # the sample has trades in both directions
    assert {d for _, _, d in expected} == {Direction.BUY_BINANCE, Direction.BUY_UPBIT}
    assert seen == [(ts, "entry" if kind == "enter" else "exit") for ts, kind, _ in expected]
    assert strategy.counters["round_trips"] == sum(1 for _, kind, _ in expected if kind == "exit")


def test_each_entry_buys_on_the_cheap_venue_and_sells_on_the_dear_one(run):
    engine, _, _ = run
    by_ts: dict[int, dict[str, str]] = {}
    for fill, order in fills_of(engine):
        by_ts.setdefault(fill.ts_event, {})[order.instrument_id.venue.value] = order.side.name
    for ts, kind, direction in expected_trades(D(100), D(0)):
        sides = by_ts[ts]
        buy_binance = (direction is Direction.BUY_BINANCE) == (kind == "enter")
        assert sides == ({"BINANCE": "BUY", "UPBIT": "SELL"} if buy_binance else {"BINANCE": "SELL", "UPBIT": "BUY"})


def test_fills_pay_the_assumed_half_spread(run):
    engine, _, _ = run
    cat = ParquetDataCatalog(str(CATALOG))
    closes = {
        (b.bar_type.instrument_id.value, b.ts_init): b.close.as_decimal()
        for b in cat.bars(bar_types=[BINANCE_BARS, UPBIT_BARS])
    }
    instruments = {"BTCUSDT.BINANCE": btcusdt_binance(), "KRW-BTC.UPBIT": krw_btc_upbit()}
    fills = fills_of(engine)
    assert fills
    for fill, order in fills:
        iid = order.instrument_id.value
        bid, ask = bar_bid_ask(instruments[iid], closes[(iid, fill.ts_event)], HALF_SPREAD)
        assert fill.last_px == (ask if order.side.name == "BUY" else bid)


def test_every_pair_ends_flat_and_hedged(run):
    engine, strategy, recorder = run
    for snapshot in strategy.pair_snapshots().values():
        assert snapshot.status.value == "FLAT" and snapshot.legs == ()
    net = {}
    for fill, order in fills_of(engine):
        qty = fill.last_qty.as_decimal() * (1 if order.side.name == "BUY" else -1)
        net[order.instrument_id.value] = net.get(order.instrument_id.value, 0) + qty
    assert set(net.values()) == {0}
    assert recorder.leg_risk == []  # nothing ever unhedged on clean data
    assert [c.reason for c in recorder.closed] == ["converged"] * len(recorder.closed)


def test_relative_mode_trades_against_the_rolling_baseline():
    config = strategy_config(
        threshold_mode="relative",
        entry_threshold_bps=D(30),
        exit_threshold_bps=D(0),
        baseline_window_mins=600,
        baseline_min_samples=60,
        outlier_jump_pct=D(50),
    )
    engine, strategy, recorder = run_strategy(START, END, config)
    try:
        expected = expected_trades(D(30), D(0), window_mins=600, min_samples=60)
        assert len(expected) >= 4
        assert traded(engine) == [(ts, "entry" if kind == "enter" else "exit") for ts, kind, _ in expected]
        # relative entries happen on edges an absolute 30 bps threshold would ignore, and vice versa
        assert expected != expected_trades(D(30), D(0))
    finally:
        engine.dispose()


def test_client_order_ids_are_nautilus_traders_format_in_one_sequence(run):
    engine, _, _ = run
    orders = sorted(engine.cache.orders(), key=lambda o: int(o.client_order_id.value.rsplit("-", 1)[1]))
    assert len(orders) >= 20
    for count, order in enumerate(orders, start=1):
        # O-{date}-{time of creation, UTC}-{trader tag}-{strategy tag}-{count}, as ClientOrderIdGenerator writes
        created = pd.Timestamp(order.init_event.ts_init, unit="ns", tz="UTC").strftime("%Y%m%d-%H%M%S")
        assert order.client_order_id.value == f"O-{created}-001-000-{count}"


def test_uuid_client_order_ids_stay_nautilus_traders_when_configured():
    config = strategy_config(outlier_jump_pct=D(50), use_uuid_client_order_ids=True)
    engine, _, _ = run_strategy(START, "2024-11-24", config)
    try:
        ids = [o.client_order_id.value for o in engine.cache.orders()]
        assert ids
        assert all(str(uuid.UUID(i)) == i for i in ids)
    finally:
        engine.dispose()


def test_every_entry_state_carries_the_edge_it_was_taken_on(run):
    _, _, recorder = run
    entering = [s for s in recorder.states if s.status in (PairStatus.ENTERING, PairStatus.OPEN)]
    assert entering
    # absolute mode at 100 bps: an entry is taken on an edge of at least 100 bps in its own direction
    assert all(s.entry_edge_bps is not None and D(s.entry_edge_bps) >= 100 for s in entering)


def test_a_usdt_fill_made_while_down_is_valued_at_the_first_fx_rate() -> None:
    # Resumed ENTERING: the Upbit leg was booked before the restart, the Binance leg filled while the node
    # was down (NautilusTrader's reconciliation put it in the cache). A new process has no FX rate when it
    # resumes: the fill's USDT flow is valued once the first rate arrives, never at 0.
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.model.identifiers import ClientOrderId
    from nautilus_trader.model.objects import Price
    from nautilus_trader.model.objects import Quantity
    from nautilus_trader.test_kit.stubs.events import TestEventStubs
    from nautilus_trader.test_kit.stubs.execution import TestExecStubs

    from arb_plugin.events import RESUME_CACHE_KEY
    from arb_plugin.events import LegFill
    from arb_plugin.events import OrderIntent
    from arb_plugin.events import PairSnapshot
    from arb_plugin.events import WorkingOrder
    from tests.support import catalog_bars
    from tests.support import make_engine

    coid = "O-20241121-030900-001-000-2"
    binance = btcusdt_binance()
    snapshot = PairSnapshot(
        symbol="BTCUSDT",
        status=PairStatus.ENTERING,
        ts_event=1,
        direction=Direction.BUY_BINANCE,
        target_qty="0.01",
        legs=(LegFill("KRW-BTC.UPBIT", "SELL", "0.01", "134376000"),),
        working_orders=(WorkingOrder(coid, "BTCUSDT.BINANCE", "BUY", "0.01", "0", OrderIntent.ENTRY),),
        trip_flow_krw="1342416",
    )
    engine = make_engine()
    order = TestExecStubs.market_order(
        instrument=binance, order_side=OrderSide.BUY, quantity=Quantity.from_str("0.01"),
        client_order_id=ClientOrderId(coid),
    )
    order.apply(TestEventStubs.order_submitted(order))
    order.apply(TestEventStubs.order_accepted(order))
    order.apply(TestEventStubs.order_filled(order, binance, last_px=Price.from_str("94873.63000000")))
    engine.cache.add_order(order)
    engine.cache.add(RESUME_CACHE_KEY.format(symbol="BTCUSDT"), snapshot.to_json())
    bars = catalog_bars("2024-11-21 03:10", "2024-11-21 03:20")
    fx = [b for b in bars if str(b.bar_type) == FX_BARS]
    data = [b for b in bars if str(b.bar_type) != FX_BARS or b is fx[-1]]  # the restart's first rate: the day's
    engine, strategy, _ = run_strategy("2024-11-21 03:10", "2024-11-21 03:20", engine=engine, data=data)
    try:
        book = strategy._pairs["BTCUSDT"].book
        assert book.status is PairStatus.OPEN
        assert (book.binance.quantity, book.upbit.quantity) == (Decimal("0.01"), Decimal("-0.01"))
        fee_usdt = Decimal("0.01") * Decimal("94873.63") * binance.taker_fee
        flow_usdt = -Decimal("948.7363") - fee_usdt
        assert book.unvalued_quote_flow == 0
        rate = strategy._pairs["BTCUSDT"].fx_rate()
        assert rate.quantize(Decimal("0.01")) == Decimal("1392.00")  # the day's USD/KRW, not 0
        assert book.trip_flow_krw == Decimal("1342416") + flow_usdt * rate
    finally:
        engine.dispose()
