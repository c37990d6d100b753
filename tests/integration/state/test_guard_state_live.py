"""
The same interface in a live ``TradingNode`` (no venue clients: orders never leave the process), against the
real Redis and PostgreSQL: the guard saves by publishing on the message bus, the StateBridge keeps it, and a
second node on the same session restores it before its strategy starts. Time is the wall clock here.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import redis
from nautilus_trader.config import StrategyConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.events import PAIR_CLOSED_TOPIC
from arb_plugin.events import Direction
from arb_plugin.events import OrderIntent
from arb_plugin.events import PairClosed
from arb_plugin.events import order_tags
from arb_plugin.risk.gate import RiskGate
from arb_plugin.risk.gate import install_risk_guard
from arb_plugin.settings import load_settings
from arb_plugin.state.bridge import StateBridge
from arb_plugin.state.bridge import state_bridge_actor
from arb_plugin.state.bridge import state_bridge_config
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.validate import decode_guard_state
from tests.integration.risk.harness import BTC_B
from tests.integration.risk.harness import BTC_U
from tests.integration.risk.harness import PAIRS
from tests.integration.risk.harness import SEC
from tests.integration.risk.harness import no_limits
from tests.integration.risk.harness import seed_live_cache
from tests.support import clientless_node_config

pytestmark = pytest.mark.integration

LIMITS = no_limits(symbol_defaults={"cooldown_ns": 60 * SEC})


class EntryAndExit(Strategy):
    """At start: one BTCUSDT entry and one exit; records denials."""

    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="EntryAndExit-001"))
        self.denied: dict[str, str] = {}
        self.entry: Any = None
        self.exit: Any = None

    def on_start(self) -> None:
        qty = Quantity.from_str("0.01000")
        self.entry = self.order_factory.market(BTC_U, OrderSide.SELL, qty, tags=order_tags(OrderIntent.ENTRY, "BTCUSDT"))
        self.exit = self.order_factory.market(BTC_B, OrderSide.SELL, qty, tags=order_tags(OrderIntent.EXIT, "BTCUSDT"))
        self.submit_order(self.entry)
        self.submit_order(self.exit)

    def on_order_denied(self, event: OrderDenied) -> None:
        self.denied[event.client_order_id.value] = event.reason


def _node(bridge: Any, strategy: Strategy | None) -> tuple[TradingNode, RiskGate]:
    node = TradingNode(
        clientless_node_config(actors=[bridge]),
        loop=asyncio.get_running_loop(),
    )
    if strategy is not None:
        node.trader.add_strategy(strategy)
    node.build()
    gate = install_risk_guard(node, LIMITS, PAIRS)  # one line after the node is built, as in every node
    cache = node.kernel.cache
    seed_live_cache(cache)
    return node, gate


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _bridge(node: TradingNode) -> StateBridge:
    return next(a for a in node.trader.actors() if isinstance(a, StateBridge))


def test_a_cooldown_survives_a_restart_of_a_trading_node(
    schema: str, pg_dsn: str, redis_url: str, session_keys: KeyBuilder, sid: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    settings = load_settings("development", environ={})
    bridge = state_bridge_actor(
        state_bridge_config(
            settings, sid, "paper", redis_url=redis_url, postgres_dsn=pg_dsn, postgres_schema=schema,
            flush_interval_ms=50,
        ),
    )
    cooldown_key = session_keys(Domain.COOLDOWN, "BTCUSDT")

    async def first_run() -> tuple[TradingNode, int, int]:
        node, _ = _node(bridge, None)
        task = asyncio.create_task(node.run_async())
        await _until(lambda: _bridge(node).is_running, "the bridge to start")
        before = node.kernel.clock.timestamp_ns()
        # what ArbitrageStrategy publishes when a round trip ends at a loss
        closed = PairClosed("BTCUSDT", Direction.BUY_BINANCE, "0.01", "-128", "converged", before)
        node.kernel.msgbus.publish(PAIR_CLOSED_TOPIC, closed)
        after = node.kernel.clock.timestamp_ns()
        await _until(lambda: client.exists(cooldown_key) == 1, "the COOLDOWN:BTCUSDT key")
        await node.stop_async()
        await asyncio.wait_for(task, 15)
        return node, before, after

    node, before, after = asyncio.run(first_run())
    node.dispose()
    saved = decode_guard_state(client.get(session_keys(Domain.GUARD, "BTCUSDT")))
    until = saved.state["cooldown_until_ns"]
    assert before + 60 * SEC <= until <= after + 60 * SEC  # the wall clock at the close + SYMBOL_COOLDOWN
    assert 0 < client.ttl(cooldown_key) <= 60

    strategy = EntryAndExit()

    async def second_run() -> tuple[TradingNode, RiskGate]:
        node, gate = _node(bridge, strategy)
        task = asyncio.create_task(node.run_async())
        await _until(lambda: strategy.entry is not None and len(strategy.denied) == 1, "the entry's denial")
        await _until(lambda: node.kernel.exec_engine.command_count == 1, "the exit to reach execution")
        await node.stop_async()
        await asyncio.wait_for(task, 15)
        return node, gate

    started = time.time_ns()
    node, gate = asyncio.run(second_run())
    try:
        assert _bridge(node).session is not None and _bridge(node).session.starts == 2  # type: ignore[union-attr]
        assert gate.restored is not None and gate.restored.symbols["BTCUSDT"]["cooldown_until_ns"] == until
        reason = strategy.denied[strategy.entry.client_order_id.value]
        match = re.fullmatch(r"SYMBOL_COOLDOWN: BTCUSDT (\d+\.\d{3}) s left \(after losing close of BTCUSDT \(-128 KRW\)\)", reason)
        assert match is not None, reason
        left = Decimal(match.group(1))
        assert 0 < left * SEC <= until - started  # what was left of it when the second node checked the entry
        assert strategy.exit.client_order_id.value not in strategy.denied  # the exit passed
    finally:
        node.dispose()
        client.close()
