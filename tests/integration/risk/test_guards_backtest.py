"""
Every guard in a real NautilusTrader BacktestEngine, at its boundary: at the limit the order passes, just over
it is denied by a real ``OrderDenied`` carrying our reason. Numbers are exact (zero fees, mids from the harness):
0.01 BTC is 850,000 KRW on Upbit and 0.01 x 60,000 USDT x 1,400 = 840,000 KRW on Binance.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TradingState

from arb_plugin.events import OrderIntent
from arb_plugin.risk.gate import GuardedRiskEngine
from arb_plugin.risk.gate import install_risk_guard
from tests.integration.risk.harness import BTC_B
from tests.integration.risk.harness import BTC_U
from tests.integration.risk.harness import ETH_U
from tests.integration.risk.harness import FX
from tests.integration.risk.harness import PRICES
from tests.integration.risk.harness import no_limits

D = Decimal
BUY = OrderSide.BUY
SELL = OrderSide.SELL
EXIT = OrderIntent.EXIT


def test_install_swaps_the_kernels_risk_engine(make) -> None:
    setup = make(no_limits())
    kernel = setup.engine.kernel
    assert isinstance(kernel.risk_engine, GuardedRiskEngine)
    assert setup.gate.engine is kernel.risk_engine
    with pytest.raises(RuntimeError, match="already installed"):
        install_risk_guard(setup.engine, no_limits())


# -- pre-trade guards at their boundaries ----------------------------------------------------------------------


@pytest.mark.parametrize(("quantity", "denied"), [("0.01", False), ("0.01001", True)])
def test_max_position_size(make, quantity: str, denied: bool) -> None:
    orders = {}
    setup = make(
        no_limits(max_position_size=D("850000")),
        [(2, lambda s: orders.setdefault("o", s.submit(BTC_U, SELL, quantity)))],
        seconds=5,
    )
    setup.run(5)
    reason = setup.strategy.reason(orders["o"])
    if denied:
        assert reason == (
            "MAX_POSITION_SIZE: KRW-BTC.UPBIT position 850,850 KRW after the order > limit 850,000 KRW"
        )
        assert setup.gate.trigger_counts == {"MAX_POSITION_SIZE": 1}
    else:
        assert reason is None
        assert setup.strategy.was_filled(orders["o"])


@pytest.mark.parametrize(("quantity", "denied"), [("0.01", False), ("0.01001", True)])
def test_max_symbol_position_projects_the_hedge_leg(make, quantity: str, denied: bool) -> None:
    # the first leg of a pair entry is checked with its hedge: 850,000 + 840,000 = 1,690,000 KRW for 0.01
    orders = {}
    setup = make(
        no_limits(symbol_defaults={"max_position": D("1690000")}),
        [
            (2, lambda s: orders.setdefault("upbit", s.submit(BTC_U, SELL, quantity))),
            (2, lambda s: orders.setdefault("binance", s.submit(BTC_B, BUY, quantity))),
        ],
        seconds=5,
    )
    setup.run(5)
    st = setup.strategy
    if denied:
        assert st.reason(orders["upbit"]) == (
            "MAX_SYMBOL_POSITION: BTCUSDT exposure 1,691,690 KRW after the order > limit 1,690,000 KRW"
        )
        # the second leg alone (its hedge projected from its own size) is the same pair: denied too
        assert st.reason(orders["binance"]) is not None
    else:
        assert st.reason(orders["upbit"]) is None and st.reason(orders["binance"]) is None
        assert st.was_filled(orders["upbit"]) and st.was_filled(orders["binance"])


@pytest.mark.parametrize(("quantity", "denied"), [("0.1", False), ("0.10001", True)])
def test_portfolio_exposure_cap(make, quantity: str, denied: bool) -> None:
    # BTC pair open (1,690,000) + an ETH pair entry of 0.1 (420,000 + 420,000) = 2,530,000 KRW
    orders = {}
    setup = make(
        no_limits(max_portfolio_exposure=D("2530000")),
        [
            (2, lambda s: s.submit(BTC_U, SELL, "0.01")),
            (2, lambda s: s.submit(BTC_B, BUY, "0.01")),
            (5, lambda s: orders.setdefault("eth", s.submit(ETH_U, SELL, quantity))),
        ],
        seconds=8,
    )
    setup.run(8)
    reason = setup.strategy.reason(orders["eth"])
    if denied:
        assert reason == (
            "MAX_PORTFOLIO_EXPOSURE: portfolio exposure 2,530,084 KRW after the order > limit 2,530,000 KRW"
        )
    else:
        assert reason is None


@pytest.mark.parametrize(("first", "denied"), [("0.01", False), ("0.0102", True)])
def test_leg_imbalance(make, first: str, denied: bool) -> None:
    # one leg filled, its hedge missing: unhedged 0.01 x 85,000,000 = 850,000 KRW (at the limit) or 867,000
    orders = {}
    setup = make(
        no_limits(symbol_defaults={"max_unhedged": D("850000")}),
        [
            (2, lambda s: s.submit(BTC_U, SELL, first)),
            (5, lambda s: orders.setdefault("more", s.submit(BTC_U, SELL, "0.001"))),
            (6, lambda s: orders.setdefault("hedge", s.submit(BTC_B, BUY, first))),
        ],
        seconds=8,
    )
    setup.run(8)
    st = setup.strategy
    if denied:
        assert st.reason(orders["more"]) == (
            "LEG_IMBALANCE: BTCUSDT unhedged 867,000 KRW across venues > limit 850,000 KRW"
        )
    else:
        assert st.reason(orders["more"]) is None
    assert st.reason(orders["hedge"]) is None  # the missing leg shrinks the imbalance: it always passes
    assert st.was_filled(orders["hedge"])


@pytest.mark.parametrize(("at", "denied"), [(15.0, False), (15.001, True)])
def test_stale_market_data(make, at: float, denied: bool) -> None:
    # Upbit quotes stop after second 10; entries need data at most 5 s old
    orders = {}
    setup = make(
        no_limits(max_data_age_ns=5_000_000_000),
        [(at, lambda s: orders.setdefault("o", s.submit(BTC_U, SELL, "0.01")))],
        seconds=20,
        prices=lambda i, sec: None if i == BTC_U and sec > 10 else PRICES[i],
    )
    setup.run(20)
    reason = setup.strategy.reason(orders["o"])
    if denied:
        assert reason == "STALE_MARKET_DATA: KRW-BTC.UPBIT last data 5.001 s old > max 5.000 s"
    else:
        assert reason is None


@pytest.mark.parametrize(("at", "denied"), [(15.0, False), (15.001, True)])
def test_stale_fx_rate(make, at: float, denied: bool) -> None:
    orders = {}
    setup = make(
        no_limits(max_fx_age_ns=5_000_000_000),
        [(at, lambda s: orders.setdefault("o", s.submit(BTC_B, BUY, "0.01")))],
        seconds=20,
        prices=lambda i, sec: None if i == FX and sec > 10 else PRICES[i],
    )
    setup.run(20)
    reason = setup.strategy.reason(orders["o"])
    if denied:
        assert reason == "STALE_MARKET_DATA: KRW-USDT.UPBIT last data 5.001 s old > max 5.000 s"
    else:
        assert reason is None


def test_symbol_cooldown_after_a_losing_close(make) -> None:
    orders = {}
    setup = make(
        no_limits(symbol_defaults={"cooldown_ns": 5_000_000_000}),
        [
            (10, lambda s: s.pair_closed("BTCUSDT", "-1")),
            (14.999, lambda s: orders.setdefault("btc_early", s.submit(BTC_U, SELL, "0.01"))),
            (14.999, lambda s: orders.setdefault("eth", s.submit(ETH_U, SELL, "0.1"))),
            (15, lambda s: orders.setdefault("btc_on_time", s.submit(BTC_U, SELL, "0.01"))),
            (16, lambda s: s.pair_closed("ETHUSDT", "0")),  # break-even: no cooldown
            (16, lambda s: orders.setdefault("eth_after_even", s.submit(ETH_U, SELL, "0.1"))),
        ],
        seconds=20,
    )
    setup.run(20)
    st = setup.strategy
    assert st.reason(orders["btc_early"]) == (
        "SYMBOL_COOLDOWN: BTCUSDT 0.001 s left (after losing close of BTCUSDT (-1 KRW))"
    )
    assert st.reason(orders["eth"]) is None
    assert st.reason(orders["btc_on_time"]) is None
    assert st.reason(orders["eth_after_even"]) is None
    assert setup.gate.trigger_counts == {"SYMBOL_COOLDOWN": 2}  # the start and the denial
    assert [(t.action, t.symbol) for t in st.triggers] == [("cooldown", "BTCUSDT"), ("deny", "BTCUSDT")]


def test_global_cooldown_after_a_large_enough_loss(make) -> None:
    orders = {}
    setup = make(
        no_limits(cooldown_ns=5_000_000_000, cooldown_min_loss=D("100")),
        [
            (10, lambda s: s.pair_closed("BTCUSDT", "-99.99")),
            (11, lambda s: orders.setdefault("small_loss", s.submit(ETH_U, SELL, "0.1"))),
            (20, lambda s: s.pair_closed("BTCUSDT", "-100")),
            (24.999, lambda s: orders.setdefault("early", s.submit(ETH_U, SELL, "0.1"))),
            (25, lambda s: orders.setdefault("on_time", s.submit(ETH_U, SELL, "0.1"))),
        ],
        seconds=30,
    )
    setup.run(30)
    st = setup.strategy
    assert st.reason(orders["small_loss"]) is None
    assert st.reason(orders["early"]) == "COOLDOWN: 0.001 s left (after losing close of BTCUSDT (-100 KRW))"
    assert st.reason(orders["on_time"]) is None


# -- post-trade guards -----------------------------------------------------------------------------------------


def _drop_at_10(instrument, second):
    """BTCUSDT falls from 59,999/60,001 to 58,999/59,001 at second 10."""
    if instrument == BTC_B and second >= 10:
        return ("58999.00", "59001.00")
    return PRICES[instrument]


# A long 0.01 BTCUSDT bought at 60,001 and marked at the 58,999 bid: -10.02 USDT x 1,400 = -14,028 KRW.


@pytest.mark.parametrize(("limit", "halts"), [("14028", False), ("14027", True)])
def test_max_daily_loss(make, limit: str, halts: bool) -> None:
    setup = make(
        no_limits(max_daily_loss=D(limit)),
        [(2, lambda s: s.submit(BTC_B, BUY, "0.01"))],
        seconds=12,
        prices=_drop_at_10,
    )
    setup.run(12)
    state = setup.engine.kernel.risk_engine.trading_state
    if halts:
        assert state == TradingState.HALTED
        assert [t.reason for t in setup.strategy.triggers] == ["MAX_DAILY_LOSS: daily PnL -14,028 KRW < -14,027 KRW"]
    else:
        assert state == TradingState.ACTIVE
        assert setup.strategy.triggers == []


def test_an_emulated_order_is_checked_when_submitted(make) -> None:
    # An order with an emulation trigger goes to NautilusTrader's OrderEmulator, not the RiskEngine: its
    # submit is checked by the same guards (HALTED here, and over MAX_POSITION_SIZE) and denied
    from nautilus_trader.model.enums import TriggerType
    from nautilus_trader.model.objects import Price
    from nautilus_trader.model.objects import Quantity

    orders = {}

    def emulated(s) -> None:  # type: ignore[no-untyped-def]
        order = s.order_factory.limit(
            BTC_U, BUY, Quantity.from_str("1.00000"), Price.from_str("86000000"), emulation_trigger=TriggerType.BID_ASK,
        )
        orders["emulated"] = order
        s.submit_order(order)

    setup = make(
        no_limits(max_daily_loss=D("14027"), max_position_size=D("850000")),
        [(2, lambda s: s.submit(BTC_B, BUY, "0.01")), (12, emulated)],
        seconds=14,
        prices=_drop_at_10,
    )
    setup.run(14)
    assert setup.engine.kernel.risk_engine.trading_state == TradingState.HALTED
    assert setup.strategy.reason(orders["emulated"]).startswith("HALTED: entries halted by MAX_DAILY_LOSS")
    assert setup.engine.portfolio.net_position(BTC_U) == 0


def _drop_at_10_then_12(instrument, second):
    """BTCUSDT falls to 58,999/59,001 at second 10 (the daily-loss halt), then to 57,999/58,001 at second 12."""
    if instrument == BTC_B and second >= 12:
        return ("57999.00", "58001.00")
    return _drop_at_10(instrument, second)


@pytest.mark.parametrize("intent", [OrderIntent.ENTRY, EXIT])
def test_an_emulated_order_released_after_a_halt_is_checked_again(make, intent: OrderIntent) -> None:
    # An emulated BUY limit at 58,001 is taken by the OrderEmulator at second 3 (nothing halted yet) and
    # released when the ask reaches it at second 12, after the halt of second 10: the release of an entry is
    # denied by the guard (RELEASED -> DENIED), an exit's is not (exits are never blocked)
    from nautilus_trader.model.enums import OrderStatus
    from nautilus_trader.model.enums import TriggerType
    from nautilus_trader.model.objects import Price
    from nautilus_trader.model.objects import Quantity

    from arb_plugin.events import order_tags

    orders = {}

    def emulated(s) -> None:  # type: ignore[no-untyped-def]
        order = s.order_factory.limit(
            BTC_B,
            BUY,
            Quantity.from_str("0.00100"),
            Price.from_str("58001.00"),
            emulation_trigger=TriggerType.BID_ASK,
            tags=order_tags(intent, "BTCUSDT"),
        )
        orders["emulated"] = order
        s.submit_order(order)

    setup = make(
        no_limits(max_daily_loss=D("14027")),
        [(2, lambda s: s.submit(BTC_B, BUY, "0.01")), (3, emulated)],
        seconds=14,
        prices=_drop_at_10_then_12,
    )
    setup.run(14)
    kernel = setup.engine.kernel
    assert kernel.risk_engine.trading_state == TradingState.HALTED
    order = kernel.cache.order(orders["emulated"].client_order_id)
    released = [type(e).__name__ for e in order.events]
    assert released[:3] == ["OrderInitialized", "OrderEmulated", "OrderInitialized"]  # taken, then transformed
    assert "OrderReleased" in released
    if intent is OrderIntent.ENTRY:
        assert order.status == OrderStatus.DENIED
        assert setup.strategy.reason(orders["emulated"]).startswith("HALTED: entries halted by MAX_DAILY_LOSS")
        assert setup.engine.portfolio.net_position(BTC_B) == D("0.01")  # the first buy only
    else:
        assert order.status == OrderStatus.FILLED
        assert setup.strategy.reason(orders["emulated"]) is None
        assert setup.engine.portfolio.net_position(BTC_B) == D("0.011")


def test_a_modify_cannot_grow_an_order_past_a_limit(make) -> None:
    # MAX_POSITION_SIZE 850,000 KRW: a resting 0.001 BTC bid (~85,000 KRW) passes; modifying it to 1 BTC at a
    # marketable price is refused (OrderModifyRejected naming the guard), a small increase is not
    from nautilus_trader.model.enums import TimeInForce
    from nautilus_trader.model.events import OrderModifyRejected
    from nautilus_trader.model.objects import Price
    from nautilus_trader.model.objects import Quantity

    orders = {}

    def rest(s) -> None:  # type: ignore[no-untyped-def]
        order = s.order_factory.limit(
            BTC_U, BUY, Quantity.from_str("0.00100"), Price.from_str("80000000"),
            time_in_force=TimeInForce.GTC, tags=["intent=entry", "pair=BTCUSDT"],
        )
        orders["bid"] = order
        s.submit_order(order)

    def grow(quantity: str):  # type: ignore[no-untyped-def]
        return lambda s: s.modify_order(orders["bid"], quantity=Quantity.from_str(quantity))

    setup = make(no_limits(max_position_size=D("850000")), [(2, rest), (3, grow("1.00000")), (4, grow("0.00200"))],
                 seconds=6)
    setup.run(6)
    bid = setup.engine.cache.order(orders["bid"].client_order_id)
    rejected = [e for e in bid.events if isinstance(e, OrderModifyRejected)]
    assert len(rejected) == 1 and "MAX_POSITION_SIZE" in rejected[0].reason
    assert bid.quantity == Quantity.from_str("0.00200")  # the small increase went through
    assert setup.gate.trigger_counts.get("MAX_POSITION_SIZE") == 1


def test_halted_lets_an_untagged_order_close_the_whole_position(make) -> None:
    # NautilusTrader's close_position / market_exit and an operator's orders are untagged: one that closes
    # the whole position reduces exposure and passes HALTED (its own approval is not counted twice)
    orders = {}
    setup = make(
        no_limits(max_daily_loss=D("14027")),
        [
            (2, lambda s: s.submit(BTC_B, BUY, "0.01")),
            (12, lambda s: orders.setdefault("close", s.submit(BTC_B, SELL, "0.01", intent=None))),
            (13, lambda s: orders.setdefault("reopen", s.submit(BTC_B, SELL, "0.001", intent=None))),
        ],
        seconds=14,
        prices=_drop_at_10,
    )
    setup.run(14)
    st = setup.strategy
    assert setup.engine.kernel.risk_engine.trading_state == TradingState.HALTED
    assert st.reason(orders["close"]) is None and st.was_filled(orders["close"])
    assert setup.engine.portfolio.is_flat(BTC_B)
    assert st.reason(orders["reopen"]).startswith("HALTED: entries halted by MAX_DAILY_LOSS")  # short: not a close


def test_halted_denies_entries_and_lets_exits_through(make) -> None:
    orders = {}
    setup = make(
        no_limits(max_daily_loss=D("14027"), flatten_on_halt=True),
        [
            (2, lambda s: s.submit(BTC_B, BUY, "0.01")),
            (12, lambda s: orders.setdefault("eth_entry", s.submit(ETH_U, SELL, "0.1"))),
            (12.5, lambda s: orders.setdefault("untagged_reduce", s.submit(BTC_B, SELL, "0.004", intent=None))),
            (13, lambda s: orders.setdefault("exit", s.submit(BTC_B, SELL, "0.006", intent=EXIT))),
            (14, lambda s: orders.setdefault("untagged_open", s.submit(BTC_B, SELL, "0.001", intent=None))),
        ],
        seconds=15,
        prices=_drop_at_10,
    )
    setup.run(15)
    st = setup.strategy
    halt = "MAX_DAILY_LOSS: daily PnL -14,028 KRW < -14,027 KRW"
    assert setup.engine.kernel.risk_engine.trading_state == TradingState.HALTED  # NautilusTrader's own state
    assert st.reason(orders["eth_entry"]) == f"HALTED: entries halted by {halt}"  # a daily limit blocks all
    assert st.reason(orders["untagged_open"]) == f"HALTED: entries halted by {halt}"
    # reducing exposure is never blocked, not even by NautilusTrader's HALTED
    assert st.reason(orders["untagged_reduce"]) is None and st.was_filled(orders["untagged_reduce"])
    assert st.reason(orders["exit"]) is None and st.was_filled(orders["exit"])
    assert setup.engine.portfolio.is_flat(BTC_B)
    assert [r.reason for r in st.flatten_requests] == [halt]  # flatten-on-halt asked the strategy to exit
    assert setup.gate.trigger_counts == {"MAX_DAILY_LOSS": 1, "HALTED": 2}
    assert [(t.guard, t.action) for t in st.triggers] == [
        ("MAX_DAILY_LOSS", "halt"),
        ("HALTED", "deny"),
        ("HALTED", "deny"),
    ]


def test_operator_halt_still_lets_exits_through(make) -> None:
    orders = {}

    def halt(s):
        setup.engine.kernel.risk_engine.set_trading_state(TradingState.HALTED)

    setup = make(
        no_limits(),
        [
            (2, lambda s: s.submit(BTC_B, BUY, "0.01")),
            (3, halt),
            (4, lambda s: orders.setdefault("entry", s.submit(ETH_U, SELL, "0.1"))),
            (5, lambda s: orders.setdefault("exit", s.submit(BTC_B, SELL, "0.01", intent=EXIT))),
        ],
        seconds=6,
    )
    setup.run(6)
    st = setup.strategy
    assert st.reason(orders["entry"]) == "TradingState.HALTED"  # NautilusTrader's own check still denies entries
    assert st.reason(orders["exit"]) is None and st.was_filled(orders["exit"])


@pytest.mark.parametrize(("limit", "blocks"), [("14028", False), ("14027", True)])
def test_max_symbol_daily_loss_blocks_only_that_symbol(make, limit: str, blocks: bool) -> None:
    orders = {}
    setup = make(
        no_limits(symbol_defaults={"max_daily_loss": D(limit)}),
        [
            (2, lambda s: s.submit(BTC_B, BUY, "0.01")),
            (12, lambda s: orders.setdefault("btc", s.submit(BTC_U, SELL, "0.001"))),
            (12, lambda s: orders.setdefault("eth", s.submit(ETH_U, SELL, "0.1"))),
        ],
        seconds=15,
        prices=_drop_at_10,
    )
    setup.run(15)
    st = setup.strategy
    assert setup.engine.kernel.risk_engine.trading_state == TradingState.ACTIVE
    assert st.reason(orders["eth"]) is None
    if blocks:
        assert st.reason(orders["btc"]) == "MAX_SYMBOL_DAILY_LOSS: BTCUSDT daily PnL -14,028 KRW < -14,027 KRW"
    else:
        assert st.reason(orders["btc"]) is None


def _peak_then_trough(instrument, second):
    """BTCUSDT bid 61,001 during seconds 5-9 (peak), 59,500 from second 10 (trough)."""
    if instrument == BTC_B and 5 <= second < 10:
        return ("61001.00", "61003.00")
    if instrument == BTC_B and second >= 10:
        return ("59500.00", "59502.00")
    return PRICES[instrument]


# Long 0.01 at 60,001: peak +10.00 USDT (14,000 KRW), trough -5.01 USDT (-7,014 KRW): drawdown 21,014 KRW.


@pytest.mark.parametrize(("limit", "halts"), [("21014", False), ("21013", True)])
def test_max_drawdown(make, limit: str, halts: bool) -> None:
    orders = {}
    setup = make(
        no_limits(max_drawdown=D(limit)),
        [
            (2, lambda s: s.submit(BTC_B, BUY, "0.01")),
            # a limit IOC above the bid: passes the guard but does not fill (no spread cost in the PnL)
            (12, lambda s: orders.setdefault("eth", s.submit(ETH_U, SELL, "0.1", limit_price="4300000"))),
        ],
        seconds=15,
        prices=_peak_then_trough,
    )
    setup.run(15)
    reason = setup.strategy.reason(orders["eth"])
    state = setup.engine.kernel.risk_engine.trading_state
    if halts:
        assert state == TradingState.HALTED
        assert reason == (
            "HALTED: entries halted by MAX_DRAWDOWN: drawdown 21,014 KRW (peak 14,000 KRW, now -7,014 KRW) "
            "> limit 21,013 KRW"
        )
    else:
        assert state == TradingState.ACTIVE
        assert reason is None


# -- hierarchy, lists, other strategies' orders ----------------------------------------------------------------------


def test_symbol_limit_blocks_only_its_symbol(make) -> None:
    orders = {}
    setup = make(
        no_limits(symbols={"BTCUSDT": {"max_position": D("1000000")}}),
        [
            (2, lambda s: orders.setdefault("btc", s.submit(BTC_U, SELL, "0.01"))),
            (2, lambda s: orders.setdefault("eth", s.submit(ETH_U, SELL, "0.2"))),  # 1,680,000 KRW: no limit
        ],
        seconds=4,
    )
    setup.run(4)
    st = setup.strategy
    assert st.reason(orders["btc"]).startswith("MAX_SYMBOL_POSITION: BTCUSDT exposure 1,690,000 KRW")
    assert st.reason(orders["eth"]) is None


def test_an_order_list_is_denied_as_a_whole(make) -> None:
    orders: list = []

    def send(s):
        orders.extend([s.make_order(BTC_U, SELL, "0.006"), s.make_order(BTC_U, SELL, "0.006")])
        s.submit_list(orders)

    setup = make(no_limits(max_position_size=D("850000")), [(2, send)], seconds=4)
    setup.run(4)
    st = setup.strategy
    # the second order sees the first as pending: 0.012 x 85,000,000
    reason = "MAX_POSITION_SIZE: KRW-BTC.UPBIT position 1,020,000 KRW after the order > limit 850,000 KRW"
    assert [st.reason(o) for o in orders] == [reason, reason]
    assert setup.engine.portfolio.is_flat(BTC_U)


def test_untagged_orders_of_another_strategy_are_checked(make) -> None:
    orders = {}
    setup = make(
        no_limits(max_position_size=D("850000")),
        [
            (2, lambda s: orders.setdefault("open", s.submit(BTC_U, SELL, "0.01", intent=None))),
            (3, lambda s: orders.setdefault("more", s.submit(BTC_U, SELL, "0.001", intent=None))),
            (4, lambda s: orders.setdefault("reduce", s.submit(BTC_U, BUY, "0.01", intent=None))),
        ],
        seconds=5,
    )
    setup.run(5)
    st = setup.strategy
    assert st.reason(orders["open"]) is None  # 850,000: at the limit (no hedge projected: not a pair entry)
    assert st.reason(orders["more"]) == (
        "MAX_POSITION_SIZE: KRW-BTC.UPBIT position 935,000 KRW after the order > limit 850,000 KRW"
    )
    assert st.reason(orders["reduce"]) is None and st.was_filled(orders["reduce"])


def test_our_rules_run_before_nautilus_traders_own(make) -> None:
    orders = {}
    setup = make(
        no_limits(max_position_size=D("850000")),
        [
            (2, lambda s: orders.setdefault("both", s.submit(BTC_B, BUY, "1000"))),  # beyond ours and the balance
            (3, lambda s: orders.setdefault("nt_only", s.submit(BTC_B, SELL, "200", intent=EXIT))),
        ],
        seconds=4,
    )
    setup.run(4)
    st = setup.strategy
    assert st.reason(orders["both"]).startswith("MAX_POSITION_SIZE: ")
    # an exit passes our guards; NautilusTrader's balance check (100 BTC held) still applies after them
    assert st.reason(orders["nt_only"]).startswith("CUM_NOTIONAL_EXCEEDS_FREE_BALANCE")


# -- fail closed -------------------------------------------------------------------------------------------------


def test_margin_accounts_are_checked(make) -> None:
    from nautilus_trader.model.enums import AccountType

    orders: dict = {}
    script = [(2, lambda s: orders.setdefault("o", s.submit(BTC_B, BUY, "1000")))]  # 60,001,000 USDT on 10M
    bare = make(None, script, seconds=4, account_type=AccountType.MARGIN)
    bare.run(4)
    assert bare.strategy.reason(orders["o"]) is None
    assert bare.strategy.was_filled(orders["o"])  # NautilusTrader alone: its checks skip margin accounts
    orders.clear()
    guarded = make(no_limits(max_position_size=D("850000")), script, seconds=4, account_type=AccountType.MARGIN)
    guarded.run(4)
    assert guarded.strategy.reason(orders["o"]).startswith(
        "MAX_POSITION_SIZE: KRW-BTC.UPBIT (hedge leg) position 85,000,000,000 KRW"
    )


def test_missing_fx_rate_denies_entries_but_not_exits(make) -> None:
    orders = {}
    setup = make(
        no_limits(),
        [
            (2, lambda s: orders.setdefault("binance", s.submit(BTC_B, BUY, "0.01"))),
            (2, lambda s: orders.setdefault("upbit", s.submit(BTC_U, SELL, "0.01"))),
            (3, lambda s: orders.setdefault("exit", s.submit(BTC_B, SELL, "0.01", intent=EXIT))),
        ],
        seconds=4,
        set_xrate=False,
        prices=lambda i, sec: None if i == FX else PRICES[i],  # no USDT/KRW quote: nobody sets the mark xrate
    )
    setup.run(4)
    st = setup.strategy
    missing = "MISSING_DATA: no FX rate USDT/KRW (mark xrate)"
    assert st.reason(orders["binance"]) == missing
    assert st.reason(orders["upbit"]) == missing  # its hedge leg cannot be valued
    assert st.reason(orders["exit"]) is None


def test_missing_price_denies_entries(make) -> None:
    orders = {}
    setup = make(
        no_limits(),
        [
            (2, lambda s: orders.setdefault("upbit", s.submit(BTC_U, SELL, "0.01"))),
            (2, lambda s: orders.setdefault("binance", s.submit(BTC_B, BUY, "0.01"))),
        ],
        seconds=4,
        prices=lambda i, sec: None if i == BTC_U else PRICES[i],
    )
    setup.run(4)
    st = setup.strategy
    assert st.reason(orders["upbit"]) == "MISSING_DATA: no price (quote, trade or bar) for KRW-BTC.UPBIT"
    assert st.reason(orders["binance"]) == (
        "MISSING_DATA: no price (quote, trade or bar) for KRW-BTC.UPBIT (BTCUSDT leg)"
    )


def test_missing_instrument_and_account_deny_entries(make) -> None:
    from nautilus_trader.model.identifiers import InstrumentId

    from tests.integration.risk.harness import currency_pair

    orders = {}
    bithumb = InstrumentId.from_str("KRW-BTC.BITHUMB")
    setup = make(
        no_limits(),
        [
            (2, lambda s: orders.setdefault("instrument", s.submit(InstrumentId.from_str("KRW-SOL.UPBIT"), BUY, "1"))),
            (2, lambda s: orders.setdefault("account", s.submit(bithumb, BUY, "0.01"))),
        ],
        seconds=4,
    )
    setup.engine.kernel.cache.add_instrument(currency_pair(bithumb, 0, "1000"))  # no venue, so no account
    setup.run(4)
    st = setup.strategy
    assert st.reason(orders["instrument"]) == "MISSING_DATA: instrument KRW-SOL.UPBIT not in the cache"
    assert st.reason(orders["account"]) == "MISSING_DATA: no account for venue BITHUMB"


def test_denials_are_counted_and_published(make) -> None:
    from nautilus_trader.model.identifiers import InstrumentId

    setup = make(
        no_limits(max_position_size=D("1")),
        [
            (2, lambda s: s.submit(BTC_U, SELL, "0.01")),
            (2, lambda s: s.submit(ETH_U, SELL, "0.1")),
            (2, lambda s: s.submit(BTC_B, SELL, "0.01", intent=EXIT)),  # not a trigger: exits pass
            (3, lambda s: s.submit(InstrumentId.from_str("KRW-SOL.UPBIT"), BUY, "1", intent=None)),
        ],
        seconds=4,
    )
    setup.run(4)
    st = setup.strategy
    assert setup.gate.trigger_counts == {"MAX_POSITION_SIZE": 2, "MISSING_DATA": 1}
    assert [(t.guard, t.action, t.symbol) for t in st.triggers] == [
        ("MAX_POSITION_SIZE", "deny", "BTCUSDT"),
        ("MAX_POSITION_SIZE", "deny", "ETHUSDT"),
        ("MISSING_DATA", "deny", "KRW-SOL.UPBIT"),
    ]
    assert [t.client_order_id for t in st.triggers] == [e.client_order_id.value for e in st.denied_events]
    assert [t.reason for t in st.triggers] == [e.reason for e in st.denied_events]
