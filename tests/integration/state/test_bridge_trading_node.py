"""
The StateBridge actor in a live TradingNode (no venue clients) against the real Redis and PostgreSQL:
real NautilusTrader event objects are published on the node's message bus, as the execution engine and
portfolio publish them. The trading loop never waits on I/O: with Redis stalled, the bridge's handlers and
flush complete while the write is still in flight.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from urllib.parse import urlsplit

import asyncpg
import msgspec
import pytest
import redis
from nautilus_trader.common.config import ImportableActorConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import PositionId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.model.orders import MarketOrder
from nautilus_trader.model.position import Position
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.identifiers import TestIdStubs

from arb_plugin.events import LEG_RISK_TOPIC
from arb_plugin.events import PAIR_STATE_TOPIC
from arb_plugin.events import LegRiskAlert
from arb_plugin.events import OrderIntent
from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.events import order_tags
from arb_plugin.state.bridge import StateBridge
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.validate import decode_pair_snapshot

from .conftest import StallingProxy
from .conftest import pg_fetch

pytestmark = pytest.mark.integration


def _node(session_id: str, schema: str, redis_url: str, pg_dsn: str, **extra: object) -> TradingNode:
    config = TradingNodeConfig(
        trader_id="TESTER-001",
        timeout_connection=5.0,
        timeout_reconciliation=1.0,
        timeout_portfolio=1.0,
        timeout_disconnection=1.0,
        timeout_post_stop=0.1,
        actors=[
            ImportableActorConfig(
                actor_path="arb_plugin.state.bridge:StateBridge",
                config_path="arb_plugin.state.bridge:StateBridgeConfig",
                config={
                    "env": "dev",
                    "session_id": session_id,
                    "mode": "paper",
                    "postgres_schema": schema,
                    "redis_url": redis_url,
                    "postgres_dsn": pg_dsn,
                    "flush_interval_ms": 100,
                    **extra,
                },
            ),
        ],
        logging=LoggingConfig(log_level="ERROR"),
    )
    return TradingNode(config=config, loop=asyncio.get_running_loop())


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _bridge(node: TradingNode) -> StateBridge:
    return next(a for a in node.trader.actors() if isinstance(a, StateBridge))


async def _started(node: TradingNode) -> tuple[asyncio.Task, StateBridge]:
    """Build and run ``node`` until its StateBridge runs; return the run task and the bridge."""
    node.build()
    task = asyncio.create_task(node.run_async())
    bridge = _bridge(node)
    await _until(lambda: bridge.is_running, "the bridge to start")
    return task, bridge


async def _stopped(node: TradingNode, task: asyncio.Task) -> None:
    """Stop ``node`` and wait for its run task to end."""
    await node.stop_async()
    await asyncio.wait_for(task, 15)


def test_bridge_in_a_trading_node_writes_real_events(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    redis_client: redis.Redis,
    session_keys: KeyBuilder,
    sid: str,
) -> None:

    async def scenario() -> TradingNode:
        node = _node(sid, schema, redis_url, pg_dsn)
        task, bridge = await _started(node)
        bus, cache = node.kernel.msgbus, node.kernel.cache

        instrument = TestInstrumentProvider.btcusdt_binance()
        cache.add_instrument(instrument)
        order = MarketOrder(
            trader_id=TestIdStubs.trader_id(),
            strategy_id=TestIdStubs.strategy_id(),
            instrument_id=instrument.id,
            client_order_id=ClientOrderId("O-1"),
            order_side=OrderSide.BUY,
            quantity=Quantity.from_str("0.010000"),
            init_id=UUID4(),
            ts_init=0,
            tags=order_tags(OrderIntent.ENTRY, "BTCUSDT"),
        )
        cache.add_order(order)
        fill = TestEventStubs.order_filled(
            order,
            instrument,
            last_px=Price.from_str("97000.00"),
            account_id=AccountId("BINANCE-001"),
            position_id=PositionId("P-1"),
            ts_event=1,
        )
        bus.publish(f"events.fills.{instrument.id}", fill)
        position = Position(instrument, fill)
        cache.add_position(position, OmsType.NETTING)
        bus.publish(f"events.position.{order.strategy_id}", TestEventStubs.position_opened(position))
        bus.publish("events.account.BINANCE-001", TestEventStubs.cash_account_state(AccountId("BINANCE-001")))
        bus.publish("events.risk", TestEventStubs.trading_state_changed())
        snap = PairSnapshot(symbol="BTCUSDT", status=PairStatus.OPEN, ts_event=2, quantity="0.01")
        bus.publish(PAIR_STATE_TOPIC, snap)
        bus.publish(LEG_RISK_TOPIC, LegRiskAlert("BTCUSDT", "detected", "0.01", "second leg rejected", 3))

        position_key = session_keys(Domain.STATE, "BTCUSDT", "position")
        await _until(lambda: redis_client.exists(position_key) == 1, "the STATE position key")
        await _until(lambda: redis_client.exists(session_keys(Domain.SNAPSHOT, "BTCUSDT")) == 1, "the SNAPSHOT key")
        assert decode_pair_snapshot(redis_client.get(session_keys(Domain.SNAPSHOT, "BTCUSDT"))) == snap
        legs = msgspec.json.decode(redis_client.get(position_key))["legs"]
        assert Decimal(legs["BTCUSDT.BINANCE"]["net_qty"]) == Decimal("0.01")
        portfolio = msgspec.json.decode(redis_client.get(session_keys(Domain.PORTFOLIO)))
        assert portfolio["exposure"]["KRW"] is None  # no price yet: null and named, never a guess
        assert "exposure@BINANCE: no price yet" in portfolio["missing_fx"]
        assert (
            msgspec.json.decode(redis_client.get(session_keys(Domain.STATE, "BTCUSDT", "leg_risk")))["stage"]
            == "detected"
        )
        assert redis_client.get(session_keys(Domain.STATE, field="trading_state")) is not None
        assert msgspec.json.decode(redis_client.get(session_keys(Domain.STATE)))["mode"] == "paper"

        await _stopped(node, task)
        return node

    asyncio.run(scenario()).dispose()  # (dispose stops the loop it ran on: call it after)
    kinds = {
        r["kind"]
        for r in pg_fetch(
            pg_dsn, schema, "SELECT DISTINCT kind FROM position_snapshots WHERE session_id = $1", sid
        )
    }
    assert {"fill", "position", "SNAPSHOT", "STATE.leg_risk"} <= kinds
    fill_row = pg_fetch(
        pg_dsn,
        schema,
        "SELECT symbol, data FROM position_snapshots WHERE session_id = $1 AND kind = 'fill'",
        sid,
    )[0]
    assert (
        fill_row["symbol"] == "BTCUSDT" and msgspec.json.decode(fill_row["data"])["client_order_id"] == "O-1"
    )
    assert (
        pg_fetch(
            pg_dsn,
            schema,
            "SELECT count(*) AS n FROM session_snapshots WHERE session_id = $1 AND kind = 'account'",
            sid,
        )[0]["n"]
        == 1
    )
    assert (
        pg_fetch(pg_dsn, schema, "SELECT status FROM sessions WHERE session_id = $1", sid)[0]["status"]
        == "stopped"
    )


def test_a_pair_state_is_written_at_once_not_after_the_flush_interval(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    redis_client: redis.Redis,
    session_keys: KeyBuilder,
    sid: str,
) -> None:
    # The state that lists a pair's orders must be in the store right after the orders go out: a crash
    # before the next timed flush (here a minute away) would otherwise resume a state that does not know them.
    key = session_keys(Domain.SNAPSHOT, "BTCUSDT")

    async def scenario() -> TradingNode:
        node = _node(sid, schema, redis_url, pg_dsn, flush_interval_ms=60_000)
        task, bridge = await _started(node)
        snap = PairSnapshot(symbol="BTCUSDT", status=PairStatus.ENTERING, ts_event=5, quantity="0.01")
        node.kernel.msgbus.publish(PAIR_STATE_TOPIC, snap)
        # well before the 60 s flush: written on the state change
        await _until(lambda: redis_client.exists(key) == 1, "the SNAPSHOT key", timeout=20)
        assert decode_pair_snapshot(redis_client.get(key)) == snap
        await _stopped(node, task)
        return node

    asyncio.run(scenario()).dispose()


def test_a_node_whose_session_another_process_resumed_stops(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    sid: str,
) -> None:

    async def scenario() -> tuple[TradingNode, StateBridge]:
        node = _node(sid, schema, redis_url, pg_dsn, heartbeat_interval_secs=0.2)
        task, bridge = await _started(node)
        # another process resumes the session (what start_session does once A's heartbeat has lapsed)
        conn = await asyncpg.connect(pg_dsn, server_settings={"search_path": schema})
        try:
            await conn.execute(
                "UPDATE sessions SET starts = starts + 1, resumed_at = now(), heartbeat_at = now() "
                "WHERE session_id = $1",
                sid,
            )
        finally:
            await conn.close()
        await _until(lambda: not node.trader.is_running, "the node to stop", timeout=10)
        await asyncio.wait_for(task, 15)
        return node, bridge

    node, bridge = asyncio.run(scenario())
    node.dispose()
    assert bridge.session_lost is not None and "no longer this process's" in bridge.session_lost
    row = pg_fetch(pg_dsn, schema, "SELECT status, starts FROM sessions WHERE session_id = $1", sid)[0]
    assert (row["status"], row["starts"]) == ("active", 2)  # left to its new owner, not marked stopped


def test_the_trading_loop_never_waits_on_a_stalled_redis(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    redis_client: redis.Redis,
    session_keys: KeyBuilder,
    sid: str,
) -> None:
    target = urlsplit(redis_url)
    proxy = StallingProxy(target.hostname or "127.0.0.1", target.port or 6379)

    async def scenario() -> TradingNode:
        node = _node(sid, schema, proxy.url, pg_dsn, redis_timeout_ms=10_000)
        task, bridge = await _started(node)
        assert bridge.writer is not None
        await _until(lambda: bridge.writer.backlog == 0 and bridge.flushes >= 1, "the start-up flush")
        await asyncio.sleep(0.2)  # let the start-up write finish before stalling

        proxy.stall()
        flushes = bridge.flushes
        for ts in range(1, 51):
            node.kernel.msgbus.publish(
                PAIR_STATE_TOPIC,
                PairSnapshot(symbol="ETHUSDT", status=PairStatus.OPEN, ts_event=ts),
            )
        # The handlers returned and the flush ran on the trading loop while nothing reached Redis.
        await _until(lambda: bridge.flushes > flushes, "the bridge's flush on the trading loop")
        node.kernel.msgbus.publish(
            PAIR_STATE_TOPIC, PairSnapshot(symbol="ETHUSDT", status=PairStatus.FLAT, ts_event=99)
        )
        await _until(lambda: bridge.flushes > flushes + 1, "a second flush while the first write is stalled")
        assert redis_client.exists(session_keys(Domain.SNAPSHOT, "ETHUSDT")) == 0

        proxy.resume()
        await _until(
            lambda: redis_client.exists(session_keys(Domain.SNAPSHOT, "ETHUSDT")) == 1, "the stalled write"
        )
        await _until(
            lambda: decode_pair_snapshot(redis_client.get(session_keys(Domain.SNAPSHOT, "ETHUSDT"))).ts_event == 99,
            "the latest value (batches coalesced)",
        )
        await _stopped(node, task)
        return node

    try:
        asyncio.run(scenario()).dispose()
    finally:
        proxy.close()
    # Every one of the 51 transitions is a row, although Redis only saw the latest.
    rows = pg_fetch(
        pg_dsn,
        schema,
        "SELECT count(*) AS n FROM position_snapshots WHERE session_id = $1 "
        "AND kind = 'SNAPSHOT' AND symbol = 'ETHUSDT'",
        sid,
    )
    assert rows[0]["n"] == 51


def test_the_bridge_flushes_on_the_nodes_loop_and_re_arms_while_a_fired_alert_is_registered(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    redis_client: redis.Redis,
    session_keys: KeyBuilder,
    sid: str,
) -> None:
    # NautilusTrader's LiveClock calls alert callbacks on its own thread, the fired alert's name still
    # registered meanwhile (arb_plugin.timers): a flush there ran alongside the handlers filling the batch, and
    # a state arriving at that moment re-armed the alert under the same name: a KeyError that stopped the node.
    key = session_keys(Domain.SNAPSHOT, "BTCUSDT")

    async def scenario() -> tuple[TradingNode, StateBridge, list[bool], bool]:
        node = _node(sid, schema, redis_url, pg_dsn)
        task, bridge = await _started(node)
        loop_thread = threading.get_ident()
        on_loop_thread: list[bool] = []
        flush = bridge._flush

        def recording_flush(final: bool = False) -> None:
            on_loop_thread.append(threading.get_ident() == loop_thread)
            flush(final)

        bridge._flush = recording_flush  # type: ignore[method-assign]
        bridge._alert_pending = False  # the moment a fired alert's callback has run, its name still registered
        bridge._mark()  # a state arriving then: arms the next flush (the same name raised KeyError here)
        alerts = bridge.flush_alerts
        for i in range(50):  # states while alerts keep firing
            snap = PairSnapshot(symbol="BTCUSDT", status=PairStatus.OPEN, ts_event=10 + i, quantity="0.01")
            node.kernel.msgbus.publish(PAIR_STATE_TOPIC, snap)
            await asyncio.sleep(0.01)
        await _until(lambda: bridge.flush_alerts >= alerts + 2, "two more timed flushes")
        running = node.trader.is_running
        await _stopped(node, task)
        return node, bridge, on_loop_thread, running

    node, bridge, on_loop_thread, running = asyncio.run(scenario())
    node.dispose()
    assert running and bridge.session_lost is None
    assert on_loop_thread and all(on_loop_thread), on_loop_thread  # every flush on the loop's thread
    assert decode_pair_snapshot(redis_client.get(key)).ts_event == 59  # the last state written
