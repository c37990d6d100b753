"""
Resume with orders the resumed state does not know: sent after the last pair state that reached the store
(a crash in between), found at the venue by NautilusTrader's reconciliation (here: put in the engine's cache
before the start, as reconciliation does). The strategy adopts them instead of trading as if they were not
there: an exit already done is not sent again, a lone entry leg is unwound, an entry the session's first state
never recorded is held. Orders older than the state, or of another strategy, are left alone.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from arb_plugin.events import RESUME_CACHE_KEY
from arb_plugin.events import SESSION_START_CACHE_KEY
from arb_plugin.events import Direction
from arb_plugin.events import LegFill
from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.instruments import btcusdt_binance
from arb_plugin.instruments import krw_btc_upbit
from tests.support import FX_BARS
from tests.support import catalog_bars
from tests.support import make_engine
from tests.support import ns
from tests.support import run_strategy
from tests.support import strategy_config

START, END = "2024-11-21 03:10", "2024-11-21 03:20"
QTY = Decimal("0.01")
# ids in the strategy's format: the backtest's trader tag 001, the strategy's tag 000
ID = "O-20241121-0309{sec:02d}-001-000-{count}"
OPEN_SNAPSHOT = PairSnapshot(
    symbol="BTCUSDT",
    status=PairStatus.OPEN,
    ts_event=1,
    direction=Direction.BUY_BINANCE,
    quantity="0.01",
    legs=(
        LegFill("BTCUSDT.BINANCE", "BUY", "0.01", "94873.63"),
        LegFill("KRW-BTC.UPBIT", "SELL", "0.01", "134376000"),
    ),
    target_qty="0.01",
    trip_flow_krw="15000",
    last_order_id=ID.format(sec=0, count=2),
)


def _filled(client_order_id: str, binance: bool, side: OrderSide, px: str, filled: bool = True):
    instrument = btcusdt_binance() if binance else krw_btc_upbit()
    order = TestExecStubs.market_order(
        instrument=instrument,
        order_side=side,
        quantity=Quantity.from_str(str(QTY)),
        client_order_id=ClientOrderId(client_order_id),
    )
    order.apply(TestEventStubs.order_submitted(order))
    order.apply(TestEventStubs.order_accepted(order))
    if filled:
        order.apply(TestEventStubs.order_filled(order, instrument, last_px=Price.from_str(px)))
    return order


def _run(snapshot: PairSnapshot | None, orders: list, session_start: str | None = None, **config):
    engine = make_engine()
    for order in orders:
        engine.cache.add_order(order)
    if snapshot is not None:
        engine.cache.add(RESUME_CACHE_KEY.format(symbol="BTCUSDT"), snapshot.to_json())
    if session_start is not None:
        engine.cache.add(SESSION_START_CACHE_KEY, str(ns(session_start)).encode())
    bars = catalog_bars(START, END)
    fx = [b for b in bars if str(b.bar_type) == FX_BARS]
    data = [b for b in bars if str(b.bar_type) != FX_BARS or b is fx[-1]]  # the restart's first rate: the day's
    engine, strategy, recorder = run_strategy(START, END, strategy_config(**config), engine=engine, data=data)
    sent = [o for o in engine.cache.orders() if o.strategy_id == strategy.id]
    return engine, strategy, recorder, sent


# no entry (threshold out of reach); an OPEN pair exits at once (every edge is below 5000 bps)
NO_ENTRY_EXIT_AT_ONCE = {"entry_threshold_bps": Decimal(10_000), "exit_threshold_bps": Decimal(5_000)}
NO_ENTRY_NO_EXIT = {"entry_threshold_bps": Decimal(10_000), "exit_threshold_bps": Decimal(-10_000)}


def _entry_orders() -> list:
    return [
        _filled(ID.format(sec=0, count=1), False, OrderSide.SELL, "134376000"),
        _filled(ID.format(sec=0, count=2), True, OrderSide.BUY, "94873.63"),
    ]


def test_an_exit_sent_after_the_last_open_state_is_adopted_not_sent_again() -> None:
    exit_orders = [
        _filled(ID.format(sec=1, count=3), False, OrderSide.BUY, "134300000"),
        _filled(ID.format(sec=1, count=4), True, OrderSide.SELL, "94900.00"),
    ]
    engine, strategy, recorder, sent = _run(OPEN_SNAPSHOT, _entry_orders() + exit_orders, **NO_ENTRY_EXIT_AT_ONCE)
    try:
        book = strategy._pairs["BTCUSDT"].book
        assert sent == []  # the exit is not sent a second time
        assert book.status is PairStatus.FLAT and book.is_flat
        assert book.round_trips == 1
        assert [c.reason for c in recorder.closed] == ["adopted"]
        assert strategy.counters["orphans_adopted"] == 2  # the two exit orders; the entry's were in the state
        adopted = [a for a in recorder.leg_risk if a.stage == "adopted"]
        assert [a.detail.split()[3] for a in adopted] == [o.client_order_id.value for o in exit_orders]
        assert all("adopted as exit" in a.detail for a in adopted)
        # the round trip's PnL: the entry's flow from the state plus the adopted exit's fills, the USDT one at
        # the first FX rate the new process saw (the day's)
        upbit_fill, binance_fill = exit_orders[0].events[-1], exit_orders[1].events[-1]
        upbit_flow = -Decimal("134300000") * QTY - upbit_fill.commission.as_decimal()
        binance_flow_usdt = Decimal("94900.00") * QTY - binance_fill.commission.as_decimal()
        rate = strategy._pairs["BTCUSDT"].fx_rate()
        assert rate.quantize(Decimal("0.01")) == Decimal("1392.00")
        assert Decimal(recorder.closed[0].pnl_krw) == Decimal(15000) + upbit_flow + binance_flow_usdt * rate
        # the state written after the adoption knows the orders (a second crash does not adopt them again)
        assert recorder.states[0].last_order_id == exit_orders[1].client_order_id.value
    finally:
        engine.dispose()


def test_without_the_adoption_the_same_resume_would_exit_again() -> None:
    # the same resume from a snapshot written before last_order_id was kept: nothing can be told apart, so
    # nothing is adopted, and the OPEN pair exits by sending its own orders (what adoption prevents above)
    old_style = PairSnapshot(
        **{**{f: getattr(OPEN_SNAPSHOT, f) for f in OPEN_SNAPSHOT.__struct_fields__}, "last_order_id": None}
    )
    exit_orders = [_filled(ID.format(sec=1, count=3), False, OrderSide.BUY, "134300000")]
    engine, strategy, _, sent = _run(old_style, _entry_orders() + exit_orders, **NO_ENTRY_EXIT_AT_ONCE)
    try:
        assert strategy.counters["orphans_adopted"] == 0
        assert sorted((o.instrument_id.venue.value, o.side_string()) for o in sent) == [
            ("BINANCE", "SELL"),
            ("UPBIT", "BUY"),
        ]
    finally:
        engine.dispose()


def test_a_lone_entry_leg_sent_after_a_flat_state_is_adopted_and_unwound() -> None:
    flat = PairSnapshot(
        symbol="BTCUSDT",
        status=PairStatus.FLAT,
        ts_event=1,
        realized_pnl_krw="5000",
        round_trips=3,
        last_order_id=ID.format(sec=0, count=2),
    )
    # the Upbit leg of an entry filled; the Binance leg never reached the venue (the crash)
    lone = _filled(ID.format(sec=5, count=3), False, OrderSide.SELL, "134376000")
    engine, strategy, recorder, sent = _run(flat, [*_entry_orders(), lone], **NO_ENTRY_NO_EXIT)
    try:
        book = strategy._pairs["BTCUSDT"].book
        assert strategy.counters["orphans_adopted"] == 1
        stages = [a.stage for a in recorder.leg_risk]
        assert stages[:3] == ["adopted", "detected", "unwinding"]
        assert "adopted as entry" in recorder.leg_risk[0].detail
        # policy "unwind": the Upbit sale is bought back, nothing else is sent
        assert [(o.instrument_id.venue.value, o.side_string(), o.quantity.as_decimal()) for o in sent] == [
            ("UPBIT", "BUY", QTY),
        ]
        assert "intent=unwind" in sent[0].tags
        assert book.status is PairStatus.FLAT and book.is_flat
        assert book.round_trips == 4 and [c.reason for c in recorder.closed] == ["unwound"]
    finally:
        engine.dispose()


@pytest.mark.parametrize("session_start", ["2024-11-21 03:00", None])
def test_with_no_state_the_sessions_orders_since_its_start_are_adopted(session_start: str | None) -> None:
    # the session's first entry: its first state never reached the store. An order of the same strategy from
    # an earlier session (02:00), and one of another strategy, are not the session's
    earlier = _filled("O-20241121-020000-001-000-9", True, OrderSide.BUY, "94000.00")
    foreign = _filled(ID.format(sec=0, count=5).replace("-001-000-", "-001-001-"), True, OrderSide.SELL, "94000.00")
    engine, strategy, recorder, sent = _run(
        None, [earlier, foreign, *_entry_orders()], session_start, **NO_ENTRY_NO_EXIT
    )
    try:
        book = strategy._pairs["BTCUSDT"].book
        assert sent == []
        if session_start is None:  # not a resumed session: nothing to adopt
            assert strategy.counters["orphans_adopted"] == 0
            assert book.status is PairStatus.FLAT
            return
        assert strategy.counters["orphans_adopted"] == 2
        assert book.status is PairStatus.OPEN and book.direction is Direction.BUY_BINANCE
        assert (book.binance.quantity, book.upbit.quantity) == (QTY, -QTY)
        assert book.hedged == QTY
    finally:
        engine.dispose()


def test_the_strategy_claims_its_leg_instruments_for_reconciliation_unless_configured() -> None:
    from arb_plugin.strategy import ArbitrageStrategy

    assert [str(i) for i in ArbitrageStrategy(strategy_config()).external_order_claims] == [
        "BTCUSDT.BINANCE",
        "KRW-BTC.UPBIT",
    ]
    assert ArbitrageStrategy(strategy_config(external_order_claims=[])).external_order_claims == []
