"""
The real ArbitrageStrategy behind the guards, on the shipped catalog (1-minute bars, daily FX):
in a BacktestEngine (tests/support.py) and in a BacktestNode built from the settings.

On 2024-11-21 the strategy enters at 03:09 UTC (Upbit leg ~1,343,760 KRW, Binance leg ~1,32x,xxx KRW)
and exits on convergence at 20:12 UTC.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.model.enums import TradingState
from nautilus_trader.model.events import OrderDenied

from arb_plugin.events import GUARD_TRIGGER_TOPIC
from arb_plugin.nodes.backtest import build_run_config
from arb_plugin.pairs import make_pair
from arb_plugin.risk.gate import GuardedRiskEngine
from arb_plugin.risk.gate import guarded_pairs
from arb_plugin.risk.gate import install_from_settings
from arb_plugin.risk.gate import install_risk_guard
from arb_plugin.risk.guard import guard_limits
from arb_plugin.settings import load_settings
from arb_plugin.strategy import ArbitrageStrategy
from tests.integration.risk.harness import no_limits
from tests.support import CATALOG
from tests.support import Recorder
from tests.support import catalog_bars
from tests.support import fills_of
from tests.support import make_engine
from tests.support import strategy_config

D = Decimal
START, END = "2024-11-21", "2024-11-22"
PAIRS = guarded_pairs([make_pair("BTC")])


def _run(limits, start: str = START, end: str = END):
    engine = make_engine()
    strategy = ArbitrageStrategy(strategy_config(outlier_jump_pct=D(50)))
    engine.add_strategy(strategy)
    recorder = Recorder()
    recorder.attach(engine)
    triggers: list = []
    engine.kernel.msgbus.subscribe(GUARD_TRIGGER_TOPIC, triggers.append)
    gate = install_risk_guard(engine, limits, PAIRS) if limits is not None else None
    engine.add_data(catalog_bars(start, end))
    engine.run()
    return engine, strategy, recorder, gate, triggers


def _denials(engine) -> list[tuple[str, str]]:
    out = []
    for order in engine.cache.orders():
        for event in order.events:
            if isinstance(event, OrderDenied):
                out.append((next(t for t in order.tags if t.startswith("intent=")), event.reason))
    return out


def test_with_the_development_limits_the_strategy_trades_as_without_the_guard() -> None:
    settings = load_settings("development", environ={})
    bare = _run(None, "2024-11-20", "2024-11-23")
    guarded = _run(guard_limits(settings.risk, settings.backtest.data), "2024-11-20", "2024-11-23")
    try:
        assert len(bare[2].closed) == 2
        assert [(c.ts_event, c.pnl_krw) for c in guarded[2].closed] == [(c.ts_event, c.pnl_krw) for c in bare[2].closed]
        assert len(fills_of(guarded[0])) == len(fills_of(bare[0])) == 8
        assert guarded[4] == []  # no guard acted
        assert isinstance(guarded[0].kernel.risk_engine, GuardedRiskEngine)
    finally:
        bare[0].dispose()
        guarded[0].dispose()


def test_a_symbol_limit_stops_the_entry_before_any_leg_is_sent() -> None:
    engine, strategy, recorder, gate, triggers = _run(no_limits(symbol_defaults={"max_position": D("2000000")}))
    try:
        denials = _denials(engine)
        assert denials, "the strategy tried to enter"
        for intent, reason in denials:
            assert intent == "intent=entry"
            assert reason.startswith("MAX_SYMBOL_POSITION: BTCUSDT exposure ")
            assert reason.endswith("KRW after the order > limit 2,000,000 KRW")
        # the first (Upbit) leg was denied with its hedge projected: the Binance leg was never sent
        assert strategy.counters["second_leg_skipped"] == len(denials)
        assert fills_of(engine) == []
        assert recorder.closed == []
        assert gate.trigger_counts == {"MAX_SYMBOL_POSITION": len(denials)}
        assert len(triggers) == len(denials)
    finally:
        engine.dispose()


def test_a_halt_flattens_the_open_pair_through_nautilus_traders_halted_state() -> None:
    # any loss halts: the entry's fees and half-spread are a loss the moment the first leg fills.
    # The window ends before 15:00 UTC (00:00 in Seoul), when a new trading day would lift the halt.
    engine, strategy, recorder, gate, triggers = _run(
        no_limits(max_daily_loss=D("1"), flatten_on_halt=True),
        START,
        "2024-11-21T12:00:00",
    )
    try:
        assert engine.kernel.risk_engine.trading_state == TradingState.HALTED
        assert [(t.guard, t.action) for t in triggers][0] == ("MAX_DAILY_LOSS", "halt")
        # the strategy exited the pair on the FlattenRequest: exit orders went through while HALTED
        assert [c.reason for c in recorder.closed] == ["flatten"]
        fills = fills_of(engine)
        intents = [next(t for t in order.tags if t.startswith("intent=")) for _, order in fills]
        assert intents.count("intent=entry") == 2 and intents.count("intent=exit") == 2
        assert engine.portfolio.is_completely_flat()
        # later entry attempts that day are denied by the halt; no exit was ever denied
        denials = _denials(engine)
        assert denials
        assert all(intent == "intent=entry" and reason.startswith("HALTED: entries halted by MAX_DAILY_LOSS")
                   for intent, reason in denials)
    finally:
        engine.dispose()


def test_installed_on_a_backtest_node_from_the_settings() -> None:
    settings = load_settings("development", environ={"ARB_RISK__MAX_SYMBOL_POSITION_KRW": "2000000"})
    run, *_ = build_run_config(settings, CATALOG, START, END, progress=False)
    node = BacktestNode(configs=[run])
    try:
        node.build()
        engine = node.get_engine(run.id)
        gate = install_from_settings(engine, settings, settings.backtest.data)
        assert gate is not None
        assert engine.kernel.risk_engine is gate.engine
        assert gate.limits.max_data_age_ns == settings.backtest.data.stale_quote_ms * 1_000_000
        node.run()
        assert gate.trigger_counts["MAX_SYMBOL_POSITION"] > 0
        assert fills_of(engine) == []
        assert gate.guard.global_guard.day_id == pd.Timestamp(END).strftime("%Y-%m-%d")
    finally:
        node.dispose()


def test_disabled_in_the_settings_installs_nothing() -> None:
    settings = load_settings("development", environ={"ARB_RISK__ENABLED": "false"})
    engine = make_engine()
    try:
        assert install_from_settings(engine, settings, settings.backtest.data) is None
        assert not isinstance(engine.kernel.risk_engine, GuardedRiskEngine)
    finally:
        engine.dispose()
