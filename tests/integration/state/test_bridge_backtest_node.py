"""
The StateBridge in a BacktestNode built by the project's own node builder, on the shipped catalog (real
1-minute bars of both venues, 25 days) with the real ArbitrageStrategy: added as one more
``ImportableActorConfig``, it mirrors every pair transition and fill into Redis and PostgreSQL, and on
simulated time its flush alerts follow activity, not the clock.
"""

from __future__ import annotations

import msgspec
import pytest
import redis
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.config import ImportableActorConfig

from arb_plugin.events import PairStatus
from arb_plugin.nodes.backtest import build_run_config
from arb_plugin.settings import load_settings
from arb_plugin.state.bridge import StateBridge
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.validate import decode_pair_snapshot

from .conftest import pg_fetch

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_bridge_in_the_projects_backtest_node_on_real_data(
    schema: str, pg_dsn: str, redis_url: str, session_keys: KeyBuilder, sid: str, repo_root,
) -> None:
    settings = load_settings("development", environ={})
    run, start_ns, end_ns, _ = build_run_config(settings, repo_root / "catalog", progress=False)
    bridge_actor = ImportableActorConfig(
        actor_path="arb_plugin.state.bridge:StateBridge",
        config_path="arb_plugin.state.bridge:StateBridgeConfig",
        config={"env": "dev", "session_id": sid, "mode": "backtest", "postgres_schema": schema,
                "redis_url": redis_url, "postgres_dsn": pg_dsn},
    )
    run = msgspec.structs.replace(run, engine=msgspec.structs.replace(run.engine, actors=[bridge_actor]))
    node = BacktestNode(configs=[run])
    node.build()
    engine = node.get_engine(run.id)
    assert engine is not None
    bridge = next(a for a in engine.trader.actors() if isinstance(a, StateBridge))
    strategy = engine.trader.strategies()[0]
    transitions: list = []
    engine.kernel.msgbus.subscribe("arb.pairs.state", transitions.append)
    try:
        node.run()
        fills = engine.trader.generate_fills_report()
        assert strategy.counters["round_trips"] >= 1 and len(fills) >= 4  # the real data trades

        rows = pg_fetch(pg_dsn, schema, "SELECT data FROM position_snapshots WHERE session_id = $1 "
                        "AND kind = 'SNAPSHOT' ORDER BY id", sid)
        assert [decode_pair_snapshot(r["data"]) for r in rows] == transitions
        fill_ids = [r["id"] for r in pg_fetch(
            pg_dsn, schema, "SELECT data->>'client_order_id' AS id FROM position_snapshots WHERE session_id = $1 "
            "AND kind = 'fill' ORDER BY id", sid)]
        assert sorted(fill_ids) == sorted(str(i) for i in fills.index)  # indexed by client_order_id

        client = redis.Redis.from_url(redis_url)
        latest = decode_pair_snapshot(client.get(session_keys(Domain.SNAPSHOT, "BTCUSDT")))
        assert latest == transitions[-1]
        final = strategy.pair_snapshots()["BTCUSDT"]
        assert latest.round_trips == final.round_trips and latest.realized_pnl_krw == final.realized_pnl_krw
        if latest.status is PairStatus.FLAT:
            position = msgspec.json.decode(client.get(session_keys(Domain.STATE, "BTCUSDT", "position")))
            assert set(position["legs"]) == {"BTCUSDT.BINANCE", "KRW-BTC.UPBIT"}
        portfolio = msgspec.json.decode(client.get(session_keys(Domain.PORTFOLIO)))
        assert portfolio["realized_pnl"]["KRW"] is not None
        client.close()

        # Simulated time: the window is ~25 days (over 2 million simulated seconds); flush alerts fire only
        # after activity (at most one per transition/fill burst), the refresh timer once a simulated minute.
        simulated_secs = (end_ns - start_ns) // 10**9
        assert bridge.flush_alerts <= len(transitions) + len(fills) + 1
        assert bridge.refreshes <= simulated_secs // 60 + 1
        assert pg_fetch(pg_dsn, schema, "SELECT status FROM sessions WHERE session_id = $1", sid)[0][0] == "stopped"
    finally:
        node.dispose()
