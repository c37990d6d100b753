"""
Leg risk on real catalog windows: one leg fails, is denied, misses (IOC) or fills partially, and the
strategy unwinds or re-hedges within a bounded price, never leaving a silent naked position.

Window: 2024-11-21 03:00-21:00 UTC, where the premium opens a BUY_BINANCE entry at 03:09 (sell Upbit,
buy Binance) that converges at 20:12.
"""

from decimal import Decimal

from nautilus_trader.config import RiskEngineConfig
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from arb_plugin.events import PairStatus
from arb_plugin.fill_model import HalfSpreadFillModel
from arb_plugin.fill_model import HalfSpreadFillModelConfig
from arb_plugin.pricing import bar_bid_ask
from tests.support import fills_of
from tests.support import make_engine
from tests.support import ns
from tests.support import run_strategy
from tests.support import strategy_config

D = Decimal
START, END = "2024-11-21 03:00", "2024-11-21 21:00"
ENTRY = ns("2024-11-21 03:09")


class LimitedLiquidity(HalfSpreadFillModel):
    """The half-spread book, but only ``size`` BTC at each side."""

    def __init__(self, size: str) -> None:
        super().__init__(HalfSpreadFillModelConfig(half_spread_bps="2"))
        self.size = size

    def get_orderbook_for_fill_simulation(self, instrument, order, best_bid, best_ask):
        last = (best_bid.as_decimal() + best_ask.as_decimal()) / 2
        bid, ask = bar_bid_ask(instrument, last, self.half_spread_bps)
        book = OrderBook(instrument.id, BookType.L2_MBP)
        qty = Quantity(D(self.size), instrument.size_precision)
        book.add(BookOrder(OrderSide.BUY, bid, qty, 1), 0, 0)
        book.add(BookOrder(OrderSide.SELL, ask, qty, 2), 0, 0)
        return book


class FarMarket(HalfSpreadFillModel):
    """Liquidity only 10 % away from the last price: marketable limits within a bound never fill."""

    def get_orderbook_for_fill_simulation(self, instrument, order, best_bid, best_ask):
        last = best_bid.as_decimal()
        book = OrderBook(instrument.id, BookType.L2_MBP)
        size = Quantity(1000, instrument.size_precision)
        book.add(BookOrder(OrderSide.BUY, Price(last * D("0.9"), instrument.price_precision), size, 1), 0, 0)
        book.add(BookOrder(OrderSide.SELL, Price(last * D("1.1"), instrument.price_precision), size, 2), 0, 0)
        return book


def binance_priced(engine):
    """Put one Binance quote in the cache so NautilusTrader's risk engine can price Binance MARKET orders
    (with bars only it logs "Cannot check MARKET order risk: no prices" and lets them through)."""
    from nautilus_trader.model.data import QuoteTick
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.model.objects import Price

    iid = InstrumentId.from_str("BTCUSDT.BINANCE")
    px, qty = Price.from_str("94000.00000000"), Quantity.from_str("1.00000000")
    engine.cache.add_quote_tick(QuoteTick(iid, px, px, qty, qty, ns("2024-11-21 03:00"), ns("2024-11-21 03:00")))
    return engine


def intents(engine):
    """(venue, intent, side, status) of every order, in submission order."""
    out = []
    for order in sorted(engine.cache.orders(), key=lambda o: (o.ts_init, o.client_order_id.value)):
        intent = next(t for t in order.tags if t.startswith("intent=")).split("=")[1]
        out.append((order.instrument_id.venue.value, intent, order.side.name, order.status.name))
    return out


def net_positions(engine) -> dict[str, Decimal]:
    net = {"BTCUSDT.BINANCE": D(0), "KRW-BTC.UPBIT": D(0)}
    for fill, order in fills_of(engine):
        net[order.instrument_id.value] += fill.last_qty.as_decimal() * (1 if order.side.name == "BUY" else -1)
    return net


def test_first_leg_denied_sends_no_second_leg():
    # NautilusTrader's own risk engine denies any Upbit order above 100,000 KRW: the Upbit leg goes first
    risk = RiskEngineConfig(max_notional_per_order={"KRW-BTC.UPBIT": 100_000})
    engine, strategy, recorder = run_strategy(START, END, engine=make_engine(risk=risk))
    try:
        orders = intents(engine)
        assert orders and all(o == ("UPBIT", "entry", "SELL", "DENIED") for o in orders)
        assert strategy.counters["second_leg_skipped"] == len(orders)
        assert fills_of(engine) == []
        assert recorder.leg_risk == []  # nothing was ever unhedged
        assert strategy.pair_snapshots()["BTCUSDT"].status is PairStatus.FLAT
    finally:
        engine.dispose()


def test_second_leg_denied_unwinds_the_first():
    risk = RiskEngineConfig(max_notional_per_order={"BTCUSDT.BINANCE": 100})  # every Binance leg is denied
    engine, strategy, recorder = run_strategy(START, END, engine=binance_priced(make_engine(risk=risk)))
    try:
        orders = intents(engine)
        assert orders[:3] == [
            ("UPBIT", "entry", "SELL", "FILLED"),
            ("BINANCE", "entry", "BUY", "DENIED"),
            ("UPBIT", "unwind", "BUY", "FILLED"),
        ]
        stages = [a.stage for a in recorder.leg_risk]
        assert stages[:2] == ["detected", "unwinding"]
        assert "denied" in recorder.leg_risk[0].detail and D(recorder.leg_risk[0].unhedged_qty) == D("-0.01")
        assert recorder.closed[0].reason == "unwound" and D(recorder.closed[0].pnl_krw) < 0
        assert net_positions(engine) == {"BTCUSDT.BINANCE": 0, "KRW-BTC.UPBIT": 0}
        # the unwind stays within its bound: bought back at most 50 bps above the sale
        fills = [f for f, o in fills_of(engine) if o.instrument_id.venue.value == "UPBIT"]
        assert fills[1].last_px.as_decimal() <= fills[0].last_px.as_decimal() * D("1.005")
    finally:
        engine.dispose()


def test_a_flatten_asked_for_while_entering_ends_with_an_unwound_entry():
    # A guard asks to flatten while the entry's legs are out; the entry is unwound (its second leg is
    # denied): the request is spent, and the next entry is not exited at once because of it.
    from nautilus_trader.model.events import OrderInitialized

    from arb_plugin.events import FLATTEN_TOPIC
    from arb_plugin.events import FlattenRequest

    risk = RiskEngineConfig(max_notional_per_order={"BTCUSDT.BINANCE": 100})
    engine = binance_priced(make_engine(risk=risk))
    asked: list[str] = []

    def on_order(event: object) -> None:
        if isinstance(event, OrderInitialized) and not asked:
            asked.append(event.client_order_id.value)
            engine.kernel.msgbus.publish(FLATTEN_TOPIC, FlattenRequest("test: halted while entering", event.ts_init))

    engine.kernel.msgbus.subscribe("events.order.*", on_order)
    engine, strategy, recorder = run_strategy(START, END, engine=engine)
    try:
        assert asked and recorder.closed[0].reason == "unwound"
        assert not strategy._pairs["BTCUSDT"].want_exit
        assert "flatten" not in [c.reason for c in recorder.closed]
    finally:
        engine.dispose()


def test_second_leg_denied_rehedge_policy_retries_then_unwinds():
    risk = RiskEngineConfig(max_notional_per_order={"BTCUSDT.BINANCE": 100})
    config = strategy_config(leg_risk_policy="rehedge", max_rehedge_attempts=2)
    engine, strategy, recorder = run_strategy(START, END, config, engine=binance_priced(make_engine(risk=risk)))
    try:
        assert intents(engine)[:5] == [
            ("UPBIT", "entry", "SELL", "FILLED"),
            ("BINANCE", "entry", "BUY", "DENIED"),
            ("BINANCE", "rehedge", "BUY", "DENIED"),
            ("BINANCE", "rehedge", "BUY", "DENIED"),
            ("UPBIT", "unwind", "BUY", "FILLED"),
        ]
        assert [a.stage for a in recorder.leg_risk][:4] == ["detected", "rehedging", "rehedging", "unwinding"]
        assert net_positions(engine) == {"BTCUSDT.BINANCE": 0, "KRW-BTC.UPBIT": 0}
    finally:
        engine.dispose()


def test_ioc_leg_that_does_not_fill_is_unwound_on_the_other_venue():
    engine = make_engine(fill_models={"UPBIT": FarMarket(HalfSpreadFillModelConfig())})
    engine_, strategy, recorder = run_strategy(START, END, engine=engine)
    try:
        orders = intents(engine)
        assert orders[:3] == [
            ("UPBIT", "entry", "SELL", "CANCELED"),  # no fill within the bound; cancelled at leg_timeout_ms
            ("BINANCE", "entry", "BUY", "FILLED"),
            ("BINANCE", "unwind", "SELL", "FILLED"),
        ]
        assert D(recorder.leg_risk[0].unhedged_qty) == D("0.01")
        assert "UPBIT SELL entry canceled" in recorder.leg_risk[0].detail
        assert net_positions(engine) == {"BTCUSDT.BINANCE": 0, "KRW-BTC.UPBIT": 0}
        # every Binance entry is unwound within the leg timeout (5 s): never naked longer than that
        binance = [(f.ts_event, o.tags) for f, o in fills_of(engine) if o.instrument_id.venue.value == "BINANCE"]
        entries = [ts for ts, tags in binance if "intent=entry" in tags]
        unwinds = [ts for ts, tags in binance if "intent=unwind" in tags]
        assert len(entries) == len(unwinds) > 1
        assert all(0 < u - e <= 5_000_000_000 for e, u in zip(entries, unwinds, strict=True))
    finally:
        engine.dispose()


def test_partial_fill_unwinds_the_excess_and_keeps_the_hedged_part():
    engine = make_engine(fill_models={"UPBIT": LimitedLiquidity("0.004")})
    engine_, strategy, recorder = run_strategy(START, END, engine=engine)
    try:
        orders = intents(engine)
        assert orders[:3] == [
            ("UPBIT", "entry", "SELL", "CANCELED"),  # IOC: 0.004 filled, the rest cancelled
            ("BINANCE", "entry", "BUY", "FILLED"),
            ("BINANCE", "unwind", "SELL", "FILLED"),
        ]
        opened = [s for s in recorder.states if s.status is PairStatus.OPEN][0]
        assert D(opened.quantity) == D("0.004") and opened.ts_event == ENTRY
        assert [a.stage for a in recorder.leg_risk][:3] == ["detected", "unwinding", "resolved"]
        # the hedged 0.004 BTC then exits normally on convergence
        assert recorder.closed[0].reason == "converged" and D(recorder.closed[0].quantity) == D("0.004")
        assert net_positions(engine) == {"BTCUSDT.BINANCE": 0, "KRW-BTC.UPBIT": 0}
    finally:
        engine.dispose()


def test_partial_fill_rehedge_policy_completes_the_lagging_leg():
    engine = make_engine(fill_models={"UPBIT": LimitedLiquidity("0.004")})
    config = strategy_config(leg_risk_policy="rehedge", max_rehedge_attempts=3)
    engine_, strategy, recorder = run_strategy(START, END, config, engine=engine)
    try:
        upbit = [
            (f.ts_event, f.last_qty.as_decimal(), o.tags)
            for f, o in fills_of(engine)
            if o.instrument_id.venue.value == "UPBIT" and f.ts_event == ENTRY
        ]
        assert [q for _, q, _ in upbit] == [D("0.004"), D("0.004"), D("0.002")]
        assert [next(t for t in tags if t.startswith("intent=")) for _, _, tags in upbit] == [
            "intent=entry",
            "intent=rehedge",
            "intent=rehedge",
        ]
        opened = [s for s in recorder.states if s.status is PairStatus.OPEN][0]
        assert D(opened.quantity) == D("0.01")
        assert net_positions(engine) == {"BTCUSDT.BINANCE": 0, "KRW-BTC.UPBIT": 0}
    finally:
        engine.dispose()
