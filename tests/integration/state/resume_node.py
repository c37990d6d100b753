"""
A paper TradingNode for the resume test, run as a subprocess: ``python resume_node.py --phase enter|exit ...``.

The node is the real thing minus venue data clients: ArbitrageStrategy, the StateBridge and the paper node's
execution clients (``arb_plugin.nodes.paper``: NautilusTrader's sandbox, simulated fills, cash accounts) for
BINANCE and UPBIT. A feeder actor stands in
for the market data clients: it adds the three instruments and then pushes QuoteTicks through the
DataEngine (``DataEngine.process``), which caches them and publishes them to the strategy and to the
sandbox matching engines, exactly as a data client's ``_handle_data`` does.

- ``--phase enter``: the Upbit price carries a ~300 bps premium, so the strategy enters and holds the pair
  OPEN. The test kills this process with SIGKILL.
- ``--phase exit``: the premium is gone, so the resumed pair exits; the process then stops the node and
  exits normally (status 0) once the pair is FLAT again.

Every order the strategy submits is appended to ``--audit`` (one JSON line each), and the resume state the
bridge put in the Cache is written there at start.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import msgspec
from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.config import ImportableActorConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import PortfolioConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderSubmitted

from arb_plugin.events import GUARD_RESUME_CACHE_KEY
from arb_plugin.events import GUARD_STATE_TOPIC
from arb_plugin.events import RESUME_CACHE_KEY
from arb_plugin.events import GuardStateSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.instruments import btcusdt_binance
from arb_plugin.instruments import fx_proxy_instrument
from arb_plugin.instruments import krw_btc_upbit
from arb_plugin.nodes.common import strategy_config
from arb_plugin.nodes.paper import SandboxLiveExecClientFactory
from arb_plugin.nodes.paper import install_paper_venue
from arb_plugin.settings import load_settings

BINANCE_MID = Decimal("97000.00")
FX = Decimal("1400.0000")


class FeederConfig(ActorConfig, frozen=True):
    phase: str
    audit: str
    interval_ms: int = 50


class Feeder(Actor):
    """Instruments, then a quote on each instrument every ``interval_ms``; audits orders and fills."""

    def __init__(self, config: FeederConfig) -> None:
        super().__init__(config)
        self.phase = config.phase
        self.interval_ms = config.interval_ms
        self.audit = open(config.audit, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (line-buffered log)
        self.instruments = [btcusdt_binance(), krw_btc_upbit(), fx_proxy_instrument()]

    def _write(self, record: dict) -> None:
        self.audit.write(msgspec.json.encode(record).decode() + "\n")

    def on_start(self) -> None:
        for instrument in self.instruments:
            self.cache.add_instrument(instrument)  # the strategy finds them in its on_start
            venue, symbol = instrument.id.venue, instrument.id.symbol
            self.msgbus.publish(f"data.instrument.{venue}.{symbol}", instrument)  # the sandbox venue too
        resumed = self.cache.get(RESUME_CACHE_KEY.format(symbol="BTCUSDT"))
        guard = self.cache.get(GUARD_RESUME_CACHE_KEY)
        self._write(
            {
                "event": "start",
                "phase": self.phase,
                "resume": None if resumed is None else msgspec.json.decode(resumed),
                "guard": None if guard is None else msgspec.json.decode(guard),
            },
        )
        if self.phase == "enter":  # stands in for the risk guard's state message
            now = self.clock.timestamp_ns()
            self.msgbus.publish(
                GUARD_STATE_TOPIC,
                GuardStateSnapshot(
                    state={"daily_pnl_krw": "0", "peak_equity_krw": "300000000", "halted": False},
                    cooldowns={"GLOBAL": now + 3_600 * 10**9},
                    ts_event=now,
                ),
            )
        self.msgbus.subscribe("events.order.*", self._on_order_event)
        self.clock.set_timer_ns("feed", self.interval_ms * 1_000_000, 0, 0, self._feed, fire_immediately=True)

    def _on_order_event(self, event: object) -> None:
        if isinstance(event, OrderSubmitted):
            order = self.cache.order(event.client_order_id)
            self._write(
                {
                    "event": "submitted",
                    "client_order_id": event.client_order_id.value,
                    "instrument_id": event.instrument_id.value,
                    "side": order.side_string() if order else None,
                    "tags": order.tags if order else None,
                },
            )
        elif isinstance(event, OrderFilled):
            self._write({"event": "filled", "client_order_id": event.client_order_id.value})

    def _quote(self, index: int, bid: Decimal, ask: Decimal, size: str, ts: int) -> QuoteTick:
        instrument = self.instruments[index]
        return QuoteTick(
            instrument.id,
            instrument.make_price(bid),
            instrument.make_price(ask),
            instrument.make_qty(Decimal(size)),
            instrument.make_qty(Decimal(size)),
            ts,
            ts,
        )

    def _feed(self, event: object) -> None:
        ts = self.clock.timestamp_ns()
        premium = Decimal("1.03") if self.phase == "enter" else Decimal("0.999")
        upbit_mid = (BINANCE_MID * FX * premium).quantize(Decimal(1000))
        quotes = [
            self._quote(2, FX - Decimal(1), FX + Decimal(1), "100000.00000000", ts),
            self._quote(0, BINANCE_MID - Decimal("0.01"), BINANCE_MID + Decimal("0.01"), "5.00000", ts),
            self._quote(1, upbit_mid - Decimal(1000), upbit_mid + Decimal(1000), "5.00000000", ts),
        ]
        for quote in quotes:
            self.msgbus.send("DataEngine.process", quote)

    def on_stop(self) -> None:
        self.audit.close()


def build_node(args: argparse.Namespace) -> TradingNode:
    settings = load_settings("development", environ={})
    balances = {
        "BINANCE": ["20000 USDT", "0.5 BTC"],
        "UPBIT": ["100000000 KRW", "0.5 BTC", "0 USDT"],
    }
    config = TradingNodeConfig(
        trader_id="RESUME-001",
        exec_clients={
            venue: SandboxExecutionClientConfig(
                venue=venue,
                account_type="CASH",
                oms_type="NETTING",
                starting_balances=balances[venue],
                bar_execution=False,
            )
            for venue in ("BINANCE", "UPBIT")
        },
        actors=[
            ImportableActorConfig(
                actor_path="arb_plugin.state.bridge:StateBridge",
                config_path="arb_plugin.state.bridge:StateBridgeConfig",
                config={
                    "env": "dev",
                    "session_id": args.session,
                    "mode": "paper",
                    "postgres_schema": args.schema,
                    "redis_url": args.redis_url,
                    "postgres_dsn": args.pg_dsn,
                    "flush_interval_ms": 100,
                    "heartbeat_interval_secs": 0.25,
                    "heartbeat_timeout_secs": 1.5,
                },
            ),
            ImportableActorConfig(
                actor_path="resume_node:Feeder",
                config_path="resume_node:FeederConfig",
                config={"phase": args.phase, "audit": args.audit},
            ),
        ],
        strategies=[
            strategy_config(
                settings.strategy,
                settings.strategy.data,
                stale_quote_ms=5_000,
                outlier_jump_pct="10",
            ),
        ],
        portfolio=PortfolioConfig(use_mark_xrates=True),
        logging=LoggingConfig(log_level="WARNING"),
        timeout_connection=10.0,
        timeout_reconciliation=2.0,
        timeout_portfolio=2.0,
        timeout_disconnection=2.0,
        timeout_post_stop=0.2,
    )
    node = TradingNode(config=config, loop=asyncio.get_running_loop())
    node.add_exec_client_factory("BINANCE", SandboxLiveExecClientFactory)
    node.add_exec_client_factory("UPBIT", SandboxLiveExecClientFactory)
    return node


async def run(args: argparse.Namespace) -> TradingNode:
    node = build_node(args)
    node.build()
    install_paper_venue(node.kernel)
    task = asyncio.create_task(node.run_async())
    while True:
        await asyncio.sleep(0.05)
        if task.done():
            task.result()
            raise RuntimeError("node stopped on its own")
        strategies = node.trader.strategies()
        if not strategies or not strategies[0].is_running:
            continue
        strategy = strategies[0]
        snap = strategy.pair_snapshots().get("BTCUSDT")
        if snap is None:
            continue
        if args.phase == "enter":
            continue  # hold the pair OPEN until the test kills this process
        if snap.status is PairStatus.FLAT and snap.round_trips >= 1 and not snap.working_orders:
            break  # the resumed pair exited
    await asyncio.sleep(0.3)  # let the bridge see the last fills
    await node.stop_async()
    await asyncio.wait_for(task, 20)
    return node


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", choices=("enter", "exit"), required=True)
    parser.add_argument("--session", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--pg-dsn", required=True)
    parser.add_argument("--audit", required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # "resume_node:Feeder" for the actor factory
    node = asyncio.run(run(args))
    node.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
