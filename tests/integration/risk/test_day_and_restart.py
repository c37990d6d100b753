"""The trading-day boundary and guard state across a restart, in real BacktestEngines."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TradingState

from arb_plugin.risk.state import GuardDomain
from arb_plugin.risk.state import InMemoryGuardStateStore
from tests.integration.risk.harness import BTC_B
from tests.integration.risk.harness import BTC_U
from tests.integration.risk.harness import ETH_U
from tests.integration.risk.harness import PRICES
from tests.integration.risk.harness import SEC
from tests.integration.risk.harness import T0
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
    store = InMemoryGuardStateStore()
    first = make(
        no_limits(symbol_defaults={"cooldown_ns": 60 * SEC}),
        [(10, lambda s: s.pair_closed("BTCUSDT", "-1"))],
        seconds=20,
        store=store,
    )
    first.run(20)
    saved = json.loads(store.load_raw(GuardDomain.COOLDOWN, "BTCUSDT") or "{}")
    assert saved == {
        "guard": "SYMBOL_COOLDOWN",
        "until_ns": T0 + 70 * SEC,
        "cause": "losing close of BTCUSDT (-1 KRW)",
        "version": 1,
    }
    first.engine.dispose()

    orders = {}
    restarted = make(  # a new engine (kernel, cache, risk engine) that only shares the store
        no_limits(symbol_defaults={"cooldown_ns": 60 * SEC}),
        [
            (5, lambda s: orders.setdefault("early", s.submit(BTC_U, SELL, "0.01"))),
            (5, lambda s: orders.setdefault("other", s.submit(ETH_U, SELL, "0.1"))),
            (40, lambda s: orders.setdefault("expired", s.submit(BTC_U, SELL, "0.01"))),
        ],
        seconds=45,
        store=store,
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
    store = InMemoryGuardStateStore()
    first = make(
        no_limits(max_daily_loss=D("20000")),
        [(2, lambda s: s.submit(BTC_B, BUY, "0.01"))],  # -14,028 KRW by second 10: under the limit
        seconds=12,
        prices=_drop_at_10,
        store=store,
    )
    first.run(12)
    assert json.loads(store.load_raw(GuardDomain.GUARD, None) or "{}")["daily_pnl"] == "-14028.000"
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
        store=store,
        start_ns=T0 + 60 * SEC,
    )
    restarted.run(15)
    # (59,574 - 60,001) x 0.01 = -4.27 USDT = -5,978 KRW; -14,028 - 5,978 = -20,006 < -20,000
    assert restarted.engine.kernel.risk_engine.trading_state == TradingState.HALTED
    assert restarted.strategy.reason(orders["eth"]) == (
        "HALTED: entries halted by MAX_DAILY_LOSS: daily PnL -20,006 KRW < -20,000 KRW"
    )


def test_a_corrupt_saved_state_is_reported_and_skipped(make) -> None:
    store = InMemoryGuardStateStore()
    store.save(GuardDomain.COOLDOWN, "BTCUSDT", {"guard": "SYMBOL_COOLDOWN", "until_ns": T0 + 60 * SEC, "cause": "x"})
    store.put_raw(GuardDomain.GUARD, "ETHUSDT", "{not json")
    store.put_raw(GuardDomain.COOLDOWN, None, json.dumps({"guard": "COOLDOWN", "until_ns": "tomorrow", "cause": ""}))
    orders = {}
    setup = make(
        no_limits(),
        [
            (5, lambda s: orders.setdefault("btc", s.submit(BTC_U, SELL, "0.01"))),
            (5, lambda s: orders.setdefault("eth", s.submit(ETH_U, SELL, "0.1"))),
        ],
        seconds=6,
        store=store,
    )
    setup.run(6)
    assert len(setup.gate.load_errors) == 2
    assert any("ETHUSDT" in e and "{not json" in e for e in setup.gate.load_errors)
    assert any("<global>" in e and "until_ns" in e for e in setup.gate.load_errors)
    assert setup.strategy.reason(orders["btc"]).startswith("SYMBOL_COOLDOWN: BTCUSDT 55.000 s left")
    assert setup.strategy.reason(orders["eth"]) is None
    assert store.load_raw(GuardDomain.COOLDOWN, "BTCUSDT") is not None  # good state is not overwritten


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
