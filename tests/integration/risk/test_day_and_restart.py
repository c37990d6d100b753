"""The trading-day boundary and guard state across a restart, in real BacktestEngines."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TradingState

from arb_plugin.events import GuardStateSnapshot
from arb_plugin.events import OrderIntent
from tests.integration.risk.harness import BTC_B
from tests.integration.risk.harness import BTC_U
from tests.integration.risk.harness import ETH_U
from tests.integration.risk.harness import PRICES
from tests.integration.risk.harness import SEC
from tests.integration.risk.harness import T0
from tests.integration.risk.harness import GuardStateCarry
from tests.integration.risk.harness import no_limits

D = Decimal
BUY = OrderSide.BUY
SELL = OrderSide.SELL
BEFORE_MIDNIGHT_SEOUL = pd.Timestamp("2024-08-01T14:59:00Z").value  # 23:59:00 KST
MIDNIGHT_SEOUL = pd.Timestamp("2024-08-01T15:00:00Z").value


def _drop_at_10(instrument, second):
    if instrument == BTC_B and second >= 10:
        return ("58999.00", "59001.00")
    return PRICES[instrument]


def test_daily_loss_halt_lifts_at_midnight_seoul(make) -> None:
    orders = {}
    setup = make(
        no_limits(max_daily_loss=D("14027")),
        [
            (2, lambda s: s.submit(BTC_B, BUY, "0.01")),  # -14,028 KRW from second 10: halted
            (59.999, lambda s: orders.setdefault("before", s.submit(ETH_U, SELL, "0.1", limit_price="4300000"))),
            (60, lambda s: orders.setdefault("after", s.submit(ETH_U, SELL, "0.1", limit_price="4300000"))),
        ],
        seconds=90,
        prices=_drop_at_10,
        start_ns=BEFORE_MIDNIGHT_SEOUL,
    )
    setup.run(90)
    st = setup.strategy
    assert st.reason(orders["before"]).startswith("HALTED: entries halted by MAX_DAILY_LOSS")
    assert st.reason(orders["after"]) is None
    assert setup.engine.kernel.risk_engine.trading_state == TradingState.ACTIVE
    resumed = [t for t in st.triggers if t.action == "resume"]
    assert len(resumed) == 1
    assert resumed[0].ts_event == MIDNIGHT_SEOUL  # the day rolled by the clock alert, exactly at 00:00 KST
    assert resumed[0].reason == "new trading day 2024-08-02"
    g = setup.gate.guard.global_guard
    assert g.day_id == "2024-08-02"
    assert g.daily_pnl == 0  # the loss still held counts from the new day's start
    assert not g.halted


def test_cooldown_survives_a_restart(make) -> None:
    carry = GuardStateCarry()  # in process, as the StateBridge does through Redis and PostgreSQL
    first = make(
        no_limits(symbol_defaults={"cooldown_ns": 60 * SEC}),
        [(10, lambda s: s.pair_closed("BTCUSDT", "-1"))],
        seconds=20,
        carry=carry,
    )
    first.run(20)
    saved = carry.latest
    assert saved is not None and saved.cooldowns == {"BTCUSDT": T0 + 70 * SEC}
    assert saved.symbols["BTCUSDT"]["cooldown_until_ns"] == T0 + 70 * SEC
    assert saved.symbols["BTCUSDT"]["cooldown_cause"] == "losing close of BTCUSDT (-1 KRW)"
    # the cooldown was published the moment it started, not at the next routine save
    assert any(s.ts_event == T0 + 10 * SEC and "BTCUSDT" in s.cooldowns for s in carry.published)
    first.engine.dispose()

    orders = {}
    restarted = make(  # a new engine (kernel, cache, risk engine) that only gets the carried state
        no_limits(symbol_defaults={"cooldown_ns": 60 * SEC}),
        [
            (5, lambda s: orders.setdefault("early", s.submit(BTC_U, SELL, "0.01"))),
            (5, lambda s: orders.setdefault("other", s.submit(ETH_U, SELL, "0.1"))),
            (40, lambda s: orders.setdefault("expired", s.submit(BTC_U, SELL, "0.01"))),
        ],
        seconds=45,
        carry=carry,
        start_ns=T0 + 30 * SEC,
    )
    restarted.run(45)
    st = restarted.strategy
    assert st.reason(orders["early"]) == (
        "SYMBOL_COOLDOWN: BTCUSDT 35.000 s left (after losing close of BTCUSDT (-1 KRW))"
    )
    assert st.reason(orders["other"]) is None
    assert st.reason(orders["expired"]) is None


def test_daily_loss_and_halt_survive_a_restart_the_same_day(make) -> None:
    carry = GuardStateCarry()
    first = make(
        no_limits(max_daily_loss=D("20000")),
        [(2, lambda s: s.submit(BTC_B, BUY, "0.01"))],  # -14,028 KRW by second 10: under the limit
        seconds=12,
        prices=_drop_at_10,
        carry=carry,
    )
    first.run(12)
    assert carry.latest is not None and carry.latest.state["daily_pnl"] == "-14028.000"
    first.engine.dispose()

    # the new process starts flat; losing 5,973 more the same day breaches 20,000 in total
    orders = {}
    restarted = make(
        no_limits(max_daily_loss=D("20000")),
        [
            (2, lambda s: s.submit(BTC_B, BUY, "0.01")),
            (12, lambda s: orders.setdefault("eth", s.submit(ETH_U, SELL, "0.1"))),
        ],
        seconds=15,
        prices=lambda i, sec: ("59574.00", "59576.00") if i == BTC_B and sec >= 10 else PRICES[i],
        carry=carry,
        start_ns=T0 + 60 * SEC,
    )
    restarted.run(15)
    # (59,574 - 60,001) x 0.01 = -4.27 USDT = -5,978 KRW; -14,028 - 5,978 = -20,006 < -20,000
    assert restarted.engine.kernel.risk_engine.trading_state == TradingState.HALTED
    assert restarted.strategy.reason(orders["eth"]) == (
        "HALTED: entries halted by MAX_DAILY_LOSS: daily PnL -20,006 KRW < -20,000 KRW"
    )
    restarted.engine.dispose()

    # and the halt itself survives a restart the same day: the third engine is HALTED before any order
    third = make(
        no_limits(max_daily_loss=D("20000")),
        [
            (1, lambda s: orders.setdefault("entry", s.submit(ETH_U, SELL, "0.1"))),
            (1, lambda s: orders.setdefault("exit", s.submit(ETH_U, SELL, "0.1", intent=OrderIntent.EXIT))),
        ],
        seconds=3,
        carry=carry,
        start_ns=T0 + 120 * SEC,
    )
    third.run(3)
    assert third.engine.kernel.risk_engine.trading_state == TradingState.HALTED
    assert third.strategy.reason(orders["entry"]) == (
        "HALTED: entries halted by MAX_DAILY_LOSS: daily PnL -20,006 KRW < -20,000 KRW"
    )
    assert third.strategy.was_filled(orders["exit"])  # reducing exposure passes a restored halt too


def test_a_corrupt_saved_state_is_reported_and_skipped(make) -> None:
    good = {"ts_event": T0, "trading_day": "2024-08-01", "daily_pnl": "0", "cooldown_until_ns": T0 + 60 * SEC,
            "cooldown_cause": "x"}
    carry = GuardStateCarry()
    carry.raw = GuardStateSnapshot(
        state={"ts_event": T0, "currency": "KRW", "trading_day": "2024-08-01", "daily_pnl": "-1", "equity": "-1",
               "peak_equity": "0", "cooldown_until_ns": "tomorrow"},
        cooldowns={"BTCUSDT": T0 + 60 * SEC},
        ts_event=T0,
        symbols={"BTCUSDT": good, "ETHUSDT": {**good, "daily_pnl": "{not a number"}},
    ).to_json()
    orders = {}
    setup = make(
        no_limits(),
        [
            (5, lambda s: orders.setdefault("btc", s.submit(BTC_U, SELL, "0.01"))),
            (5, lambda s: orders.setdefault("eth", s.submit(ETH_U, SELL, "0.1"))),
        ],
        seconds=6,
        carry=carry,
    )
    setup.run(6)
    assert len(setup.gate.load_errors) == 2
    assert any("ETHUSDT" in e and "{not a number" in e for e in setup.gate.load_errors)
    assert any("<global>" in e and "cooldown_until_ns" in e for e in setup.gate.load_errors)
    assert setup.strategy.reason(orders["btc"]) == "SYMBOL_COOLDOWN: BTCUSDT 55.000 s left (after x)"
    assert setup.strategy.reason(orders["eth"]) is None


def test_a_value_that_is_no_guard_state_is_reported_and_the_guard_starts_fresh(make) -> None:
    carry = GuardStateCarry()
    carry.raw = b'{"state": 5}'
    orders = {}
    setup = make(
        no_limits(),
        [(1, lambda s: orders.setdefault("btc", s.submit(BTC_U, SELL, "0.01")))],
        seconds=2,
        carry=carry,
    )
    setup.run(2)
    assert len(setup.gate.load_errors) == 1
    assert setup.gate.load_errors[0].startswith("arb.resume.guard: not a GuardStateSnapshot")
    assert setup.strategy.reason(orders["btc"]) is None


def test_the_engine_can_be_reset_and_run_again(make) -> None:
    orders: dict = {}
    setup = make(
        no_limits(max_position_size=D("850000")),
        [(2, lambda s: orders.setdefault(len(orders), s.submit(BTC_U, SELL, "0.01001")))],
        seconds=4,
    )
    setup.run(4)
    setup.engine.reset()
    setup.run(4)
    assert [setup.strategy.reason(o) for o in orders.values()] == [
        "MAX_POSITION_SIZE: KRW-BTC.UPBIT position 850,850 KRW after the order > limit 850,000 KRW",
    ] * 2


def test_a_new_day_never_lifts_an_operators_halt(make) -> None:
    def operator_halts(s):
        setup.engine.kernel.risk_engine.set_trading_state(TradingState.HALTED)

    setup = make(
        no_limits(max_daily_loss=D("14027")),
        [(0.5, lambda s: s.submit(BTC_B, BUY, "0.01")), (1, operator_halts)],
        seconds=70,
        prices=_drop_at_10,
        start_ns=BEFORE_MIDNIGHT_SEOUL,
    )
    setup.run(70)
    actions = [(t.guard, t.action) for t in setup.strategy.triggers]
    assert actions == [("MAX_DAILY_LOSS", "halt"), ("HALTED", "resume")]  # our halt came and went with the day
    assert setup.gate.guard.global_guard.day_id == "2024-08-02"
    assert setup.engine.kernel.risk_engine.trading_state == TradingState.HALTED  # the operator's halt stays


def test_a_halt_restored_the_same_day_asks_for_the_flatten_again(make) -> None:
    # flatten_on_halt: the halt's flatten request went to the strategy that was running; after a restart the
    # new strategy (its pairs resumed) gets it again, once it handles data, and entries stay denied
    limits = no_limits(max_daily_loss=D("14027"), flatten_on_halt=True)
    carry = GuardStateCarry()
    first = make(limits, [(2, lambda s: s.submit(BTC_B, BUY, "0.01"))], seconds=12, prices=_drop_at_10, carry=carry)
    first.run(12)
    halt = "MAX_DAILY_LOSS: daily PnL -14,028 KRW < -14,027 KRW"
    assert [r.reason for r in first.strategy.flatten_requests] == [halt]
    first.engine.dispose()

    restarted = make(limits, [], seconds=3, carry=carry, start_ns=T0 + 60 * SEC)
    restarted.run(3)
    assert restarted.engine.kernel.risk_engine.trading_state == TradingState.HALTED
    assert [r.reason for r in restarted.strategy.flatten_requests] == [f"{halt} (restored)"]

    # a later day lifts the daily halt: nothing to flatten for
    next_day = make(limits, [], seconds=3, carry=carry, start_ns=T0 + 86_400 * SEC)
    next_day.run(3)
    assert next_day.strategy.flatten_requests == []


def test_a_halt_before_any_strategy_listens_is_flattened_once_one_does(make) -> None:
    # flatten_on_halt: a trip while no strategy has subscribed to the flatten topic yet (a node starting, its
    # reconciled fills already counted) is not published into the void: it goes out after the first data
    # handled once a strategy listens
    from arb_plugin.events import FLATTEN_TOPIC

    limits = no_limits(max_daily_loss=D("14027"), flatten_on_halt=True)
    setup = make(
        limits,
        [
            (2, lambda s: s.submit(BTC_B, BUY, "0.01")),
            (5, lambda s: s.msgbus.unsubscribe(FLATTEN_TOPIC, s.flatten_requests.append)),
            (15, lambda s: s.msgbus.subscribe(FLATTEN_TOPIC, s.flatten_requests.append)),
        ],
        seconds=20,
        prices=_drop_at_10,
    )
    setup.run(20)
    assert setup.gate.guard.global_guard.halted  # halted at second 10, while nobody listened
    requests = setup.strategy.flatten_requests
    assert [r.reason for r in requests] == ["MAX_DAILY_LOSS: daily PnL -14,028 KRW < -14,027 KRW"]
    assert T0 + 15 * SEC <= requests[0].ts_event < T0 + 17 * SEC  # with the first quotes after subscribing
