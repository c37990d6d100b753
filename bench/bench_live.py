"""
Paper TradingNode benchmark (``python -m bench.bench_live``): prints figures, asserts nothing.

The set-up of the end-to-end test: a paper node built by ``arb_plugin.nodes.live`` (the real
``ArbitrageStrategy``, risk guard, ``StateBridge``, metrics and logging, production's logging policy) against
both fake venues replaying real prices on loopback, with the real Redis and PostgreSQL (a private schema,
removed afterwards). The fake venues run in a child process, as real venues are not in the node's process;
their Binance prices swing the premium so the strategy keeps trading. A probe actor measures:

1. **Tick-to-order**: from the ``ts_init`` of the quote the strategy decided on to the moment each order of
   that decision reaches the venue's execution client (``PaperExecutionClient.submit_order``, where a live
   client would put it on the wire), through NautilusTrader's live data, risk and execution engines (run
   inline by ``arb_plugin.nodes.dispatch``, ``node.inline_dispatch``; set ``ARB_NODE__INLINE_DISPATCH=false``
   for their queues). Target p99 < 1 ms. Every order counts: the second leg of a decision is sent after the
   first leg's whole submit path (the paper venue itself takes the order on the next loop turn, as a venue
   answers a live client's request later: ``arb_plugin.nodes.paper``), so it is shown apart
   from the first order of each decision. Also to the ``OrderSubmitted`` event back at the strategy's side of
   the bus (the paper venue takes the order on a later loop turn, and its events are handled then). (The sandbox stamps its own events
   with its simulated exchange clock, so the node's clock is read where the order passes.)
   **Floor**: after that run, the same paper node (data clients, inline dispatch, paper venues, bridge,
   metrics, logging) runs for ``BARE_SECS`` with the arbitrage strategy taken out and the risk guard off, and
   :class:`BareOrders` instead: on a quote, one ``LimitOrder`` IOC at the touch from the order factory,
   submitted, every ``BARE_EVERY_SECS`` (``BENCH_LIVE_BARE=0`` skips it). That is what NautilusTrader's own
   order path costs per order on the host, whatever a strategy does; a decision's second leg waits for the
   first leg's whole path on the same thread, so it can never be faster than the floor plus its own submit.
   On the latest host, four runs: floor p50 0.67-0.84 ms, p99 0.93-1.16 ms (n=118-137); the strategy's first
   orders p50 0.78-0.87 ms, p99 1.13-1.27 ms; all orders p50 0.89-1.03 ms, p99 1.56-1.75 ms (n~250; 60 s,
   premium swung every second). The floor's own hops (``StageTimer``, p50 us): quote -> handler 190, order
   built 157, ``submit_order`` -> risk engine 189, risk engine 182, -> client 33: the same steps as the
   strategy's first order, no faster. The strategy's own work adds little to its first leg.
2. **Quote-to-decision** (the design's loop latency): the strategy's ``DecisionLatency`` samples.

``BENCH_LIVE_NO_RISK=1`` runs the same node without the risk guard, to show the guard's share of the latency.
Where the tick-to-order time goes is printed too (``StageTimer``: wall-clock stamps at each hop of every
order's path, p50 per hop for the first and the second order of a decision; ``BENCH_LIVE_STAGES=0`` leaves
the wrappers out). On the latest host (``bench/host.py`` ~105 us), first order: quote ``ts_init`` -> the
strategy's handler 170-180 us (the Binance client's handler, the data engine, the portfolio's and the risk
guard's price updates; the paper venue applies its quotes on the next loop turn, off this path:
``arb_plugin.nodes.paper``), decision 110-120 us, building the order 210-235 us, ``submit_order`` -> the
risk engine 140 us (cache, ``OrderInitialized`` on the bus), the risk engine 140-175 us (our guard's checks,
then NautilusTrader's), -> the client ~40 us; the second order's own hops take about half as long. None of
these steps is slow in itself: in a tight loop NautilusTrader builds a ``LimitOrder`` in ~10 us; here the
same call takes ~150 us (on an earlier, twice faster host) because the order path runs once per decision, seconds apart, and by then its code and data have left the caches. On
this machine that happens within milliseconds whatever the process does in between: the same
``OrderFactory.limit`` call measured 7 us back to back, 16 us after 0.1 ms of sleep, 52 us after 1 ms,
~185 us after 8 ms and 250-330 us after 30 ms of sleeping *or of spinning* (this VM's cores are shared;
the host evicts them). Trimmed on this path: client order ids written without a ``pandas.Timestamp`` per
order (``arb_plugin.order_ids``; ~100 us cold), the metrics collector counting a quote after the strategy
instead of before it, the entry's edge computed once both legs are out, the paper venue's quote handling,
NautilusTrader's per-event and per-command INFO lines formatted while the node's level drops them. Tried and
dropped: rebuilding a throwaway order on every quote to keep the path warm (quotes arrive ~8 ms apart here: no
measurable gain), a shorter GIL switch interval (worse), ``gc.freeze()`` after start-up (7 young collections
in a run, 0.1-0.2 ms each: the collector is not what makes the slow orders).

3. **WebSocket reconnect MTTR**: the Binance fake resets the TCP connection; time from the reset to the first
   Binance quote the node receives again. Steady state: drops 11 s apart (NautilusTrader resets its reconnect
   backoff once a connection has been up for 10 s). Flapping: drops 1 s apart, where NautilusTrader's
   exponential backoff (2 s initial, x1.5; not configurable for its built-in Binance client) takes over.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderInitialized
from nautilus_trader.model.events import OrderSubmitted
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.endpoints import add_layer
from arb_plugin.events import DECISION_TOPIC
from arb_plugin.events import DecisionLatency
from arb_plugin.nodes.live import BINANCE
from arb_plugin.nodes.live import TradingMode
from arb_plugin.nodes.live import build_live_node
from arb_plugin.nodes.paper import PaperExecutionClient
from arb_plugin.observability.ws_state import binance_ws_state
from arb_plugin.settings import load_settings
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.migrate import migrate

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("ARB_SHARED_DIR", REPO_ROOT.parent / "shared"))
PG_DSN = os.environ.get("ARB_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ARB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STAGES = os.environ.get("BENCH_LIVE_STAGES", "1") != "0"  # the per-hop breakdown (~5 us of wrappers per order)
BARE = os.environ.get("BENCH_LIVE_BARE", "1") != "0"  # the bare NautilusTrader strategy's run (the floor)
TRADING_SECS = 60
SWING_SECS = 1.0
BARE_SECS = 30
BARE_EVERY_SECS = 0.25
BARE_INSTRUMENT = "KRW-BTC.UPBIT"
BARE_QUANTITY = "0.0001"  # ~14,000 KRW: above Upbit's 5,000 KRW minimum
STEADY_DROPS, STEADY_SPACING_SECS = 4, 11.0
FLAP_DROPS, FLAP_SPACING_SECS = 3, 1.0


class LatencyProbe(Actor):
    """Pairs each order with the quote its decision was made on; timestamps Binance quotes for the MTTR."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[str] = []
        self.trigger: dict[str, int] = {}
        self.reached: dict[str, int] = {}  # client order id -> when it reached the client, before its trigger was known
        self.to_client_ns: list[int] = []
        self.first_leg_ns: list[int] = []  # the first order of each decision only
        self.first_orders: set[str] = set()
        self.to_submitted_ns: list[int] = []
        self.decision_ns: list[int] = []
        self.binance_quotes = 0
        self.last_binance_quote = 0.0

    def on_start(self) -> None:
        self.msgbus.subscribe("events.order.*", self._on_order)
        self.msgbus.subscribe(DECISION_TOPIC, self._on_decision)
        self.msgbus.subscribe("data.quotes.BINANCE.*", self._on_binance_quote)

    def order_reaches_client(self, client_order_id: str) -> None:
        now = self.clock.timestamp_ns()
        quote_ts = self.trigger.get(client_order_id)
        if quote_ts is not None:
            self._sample(client_order_id, now - quote_ts)
        else:  # inline dispatch: the order is at the client before the decision's sample is published
            self.reached[client_order_id] = now

    def _on_order(self, event: object) -> None:
        if isinstance(event, OrderInitialized):
            self.pending.append(event.client_order_id.value)
        elif isinstance(event, OrderSubmitted):
            quote_ts = self.trigger.pop(event.client_order_id.value, None)
            if quote_ts is not None:
                self.to_submitted_ns.append(self.clock.timestamp_ns() - quote_ts)

    def _on_decision(self, sample: DecisionLatency) -> None:
        self.decision_ns.append(sample.latency_ns)
        if self.pending:  # the orders created while handling this quote (published before the sample)
            quote_ts = sample.ts_event - sample.latency_ns
            self.first_orders.add(self.pending[0])
            for client_order_id in self.pending:
                self.trigger[client_order_id] = quote_ts
                reached = self.reached.pop(client_order_id, None)
                if reached is not None:
                    self._sample(client_order_id, reached - quote_ts)
            self.pending.clear()

    def _sample(self, client_order_id: str, latency_ns: int) -> None:
        self.to_client_ns.append(latency_ns)
        if client_order_id in self.first_orders:
            self.first_leg_ns.append(latency_ns)

    def _on_binance_quote(self, quote: QuoteTick) -> None:
        self.binance_quotes += 1
        self.last_binance_quote = time.monotonic()


def _time_client_submits(probe: LatencyProbe, stages: StageTimer) -> Callable[[], None]:
    """Note the moment each order reaches a paper execution client (bench-only timing wrapper)."""
    original = PaperExecutionClient.submit_order

    def submit_order(self: PaperExecutionClient, command: Any) -> Any:
        probe.order_reaches_client(command.order.client_order_id.value)
        stages.at_client(command.order)
        return original(self, command)

    PaperExecutionClient.submit_order = submit_order  # type: ignore[method-assign]

    def restore() -> None:
        PaperExecutionClient.submit_order = original  # type: ignore[method-assign]

    return restore


_STAGES = ("handler", "built0", "built", "submit", "risk", "exec", "client")
_STEPS = (
    ("quote ts_init -> strategy handler", "ts", "handler"),
    ("decision (edge, sizing; for a second order also the first one's path)", "handler", "built0"),
    ("order built", "built0", "built"),
    ("bookkeeping -> submit_order", "built", "submit"),
    ("submit_order -> risk engine", "submit", "risk"),
    ("risk engine (guard + checks)", "risk", "exec"),
    ("execution engine -> client", "exec", "client"),
)


class StageTimer:
    """
    Where each order's tick-to-order time goes: wall-clock stamps at each hop of its path (bench-only wrappers
    around the strategy's quote handlers, ``_leg_order`` and ``submit_order``, layers at the risk and execution
    engines' endpoints, and the paper client's ``submit_order``; each adds about a microsecond).
    """

    def __init__(self) -> None:
        self.quote_ts = 0
        self.handler_ns = 0
        self.orders: dict[str, dict[str, int]] = {}

    def install(self, live: Any) -> None:
        kernel = live.node.kernel
        bus = kernel.msgbus
        strategy = live.node.trader.strategies()[0]
        for sub in [s for s in bus.subscriptions("data.quotes.*") if getattr(s.handler, "__self__", None) is strategy]:
            bus.unsubscribe(sub.topic, sub.handler)
            bus.subscribe(sub.topic, self._timed_handler(sub.handler), priority=sub.priority)
        build, submit = strategy._leg_order, strategy.submit_order

        def leg_order(*args: Any, **kwargs: Any) -> Any:
            t0 = time.time_ns()
            order = build(*args, **kwargs)
            stamps = {"ts": self.quote_ts, "handler": self.handler_ns, "built0": t0, "built": time.time_ns()}
            self.orders[order.client_order_id.value] = stamps
            return order

        def submit_order(order: Any, *args: Any, **kwargs: Any) -> Any:
            self._stamp(order, "submit")
            return submit(order, *args, **kwargs)

        strategy._leg_order, strategy.submit_order = leg_order, submit_order
        add_layer(kernel, "RiskEngine.execute", kernel.risk_engine.execute, "bench-stages", 100, self._layer("risk"))
        add_layer(kernel, "ExecEngine.execute", kernel.exec_engine.execute, "bench-stages", 100, self._layer("exec"))

    def at_client(self, order: Any) -> None:
        self._stamp(order, "client")

    def _timed_handler(self, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        def timed(quote: QuoteTick) -> None:
            self.quote_ts, self.handler_ns = quote.ts_init, time.time_ns()
            handler(quote)

        return timed

    def _stamp(self, order: Any, stage: str) -> None:
        stamps = self.orders.get(order.client_order_id.value)
        if stamps is not None and stage not in stamps:
            stamps[stage] = time.time_ns()

    def _layer(self, stage: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
        def layer(handler: Callable[[Any], None]) -> Callable[[Any], None]:
            def stamped(command: Any) -> None:
                order = getattr(command, "order", None)
                if order is not None:
                    self._stamp(order, stage)
                handler(command)

            return stamped

        return layer

    def lines(
        self,
        first_orders: set[str],
        labels: tuple[str, str] = ("first order of each decision", "second order of each decision"),
    ) -> list[str]:
        out = []
        for label, first in zip(labels, (True, False), strict=True):
            done = [
                s for cid, s in self.orders.items()
                if all(k in s for k in _STAGES) and (cid in first_orders) is first
            ]
            if not done:
                continue
            steps = ", ".join(
                f"{name} {statistics.median(s[b] - s[a] for s in done) / 1e3:.0f}" for name, a, b in _STEPS
            )
            out.append(f"  where it goes, {label} (p50 us, n={len(done)}): {steps}")
        return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(name: str, values_ns: list[int], target: str = "") -> str:
    if not values_ns:
        return f"{name}: no samples"
    ms = [v / 1e6 for v in values_ns]
    return (
        f"{name}, n={len(ms)}: p50 {statistics.median(ms):.3f} ms, p99 {_pct(ms, 0.99):.3f} ms, "
        f"max {max(ms):.3f} ms{target}"
    )


async def _schema(action: str, name: str) -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        if action == "create":
            await conn.execute(f'CREATE SCHEMA "{name}"')
            await migrate(conn, schema=name)
        else:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()


class _Venues:
    """The fake venues in a child process (``tests.integration.live.paper_venues``), driven over stdin."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.live.paper_venues"],
            cwd=REPO_ROOT,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "ARB_SHARED_DIR": str(SHARED_DIR)},
        )
        assert self._proc.stdout is not None
        self.environ: dict[str, str] = json.loads(self._proc.stdout.readline())

    def command(self, line: str) -> str:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        return self._proc.stdout.readline().strip()

    def close(self) -> None:
        if self._proc.poll() is None:
            self.command("quit")
            self._proc.wait(30)


async def _trading(live: Any, stages: StageTimer) -> asyncio.Task[int]:
    """Start the node's run; return it once the node trades, with the stage wrappers installed (when on)."""
    started = asyncio.Event()
    run = asyncio.create_task(live.run_async(started))
    await asyncio.wait_for(started.wait(), 90)
    if STAGES:
        stages.install(live)
    return run


class BareOrders(Strategy):
    """
    The least a NautilusTrader strategy does per order: on a quote, one ``LimitOrder`` IOC at the touch, built by
    the order factory with a plain client order id and submitted (no pricing, sizing, bookkeeping or risk
    rules). Buys and sells alternate, one order every ``every_ns`` of quote time.
    """

    def __init__(self, instrument_id: InstrumentId, every_ns: int, quantity: Quantity) -> None:
        super().__init__(StrategyConfig(strategy_id="BareOrders-001"))
        self.instrument_id = instrument_id
        self.every_ns = every_ns
        self.quantity = quantity
        self.last_ns = 0
        self.count = 0
        self.trigger: dict[str, int] = {}  # client order id -> ts_init of the quote it was made on

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.instrument_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if tick.ts_init - self.last_ns < self.every_ns:
            return
        self.last_ns = tick.ts_init
        self.count += 1
        order = self._leg_order(tick, buy=self.count % 2 == 1)
        self.trigger[order.client_order_id.value] = tick.ts_init
        self.submit_order(order)

    def _leg_order(self, tick: QuoteTick, buy: bool) -> Any:
        # named as the arbitrage strategy's order builder, so that StageTimer times both the same way
        return self.order_factory.limit(
            self.instrument_id,
            OrderSide.BUY if buy else OrderSide.SELL,
            self.quantity,
            tick.ask_price if buy else tick.bid_price,
            time_in_force=TimeInForce.IOC,
            client_order_id=ClientOrderId(f"O-BARE-{self.count}"),
        )


def bare_baseline(venues: _Venues, schema: str) -> tuple[list[int], list[str]]:
    """
    Tick-to-order of :class:`BareOrders` in the same paper node (data clients, inline dispatch, paper venues,
    bridge, metrics, logging) with the risk guard off and the arbitrage strategy taken out: the floor that
    NautilusTrader's own order path sets on this host, whatever a strategy does. Returns its samples (ns) and
    the per-hop line of :class:`StageTimer`.
    """
    session = f"bench-bare-{uuid.uuid4().hex[:8]}"
    environ = _node_environ(venues, schema)
    environ["ARB_RISK__ENABLED"] = "false"
    live = build_live_node(load_settings("production", environ=environ), TradingMode.PAPER, session_id=session)
    trader = live.node.trader
    for strategy in trader.strategies():
        trader.remove_strategy(strategy.id)
    bare = BareOrders(
        InstrumentId.from_str(BARE_INSTRUMENT),
        int(BARE_EVERY_SECS * 1e9),
        Quantity.from_str(BARE_QUANTITY),
    )
    trader.add_strategy(bare)
    samples: list[int] = []
    stages = StageTimer()
    original = PaperExecutionClient.submit_order

    def submit_order(self: PaperExecutionClient, command: Any) -> Any:
        quote_ts = bare.trigger.pop(command.order.client_order_id.value, None)
        if quote_ts is not None:
            samples.append(self._clock.timestamp_ns() - quote_ts)
        stages.at_client(command.order)
        return original(self, command)

    async def scenario() -> int:
        run = await _trading(live, stages)
        await asyncio.sleep(BARE_SECS)
        await live.shutdown("benchmark done")
        return await run

    PaperExecutionClient.submit_order = submit_order  # type: ignore[method-assign]
    try:
        rc = live.loop.run_until_complete(scenario())
    finally:
        PaperExecutionClient.submit_order = original  # type: ignore[method-assign]
        live.dispose()
        _delete_session_keys(session)
    if rc:
        raise RuntimeError(f"the bare node exited with status {rc}")
    return samples, stages.lines(set(stages.orders), ("bare order", ""))


def _node_environ(venues: _Venues, schema: str) -> dict[str, str]:
    """The paper node's environment: the fake venues, the real Redis and PostgreSQL, a private schema."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ARB_", "BINANCE_", "UPBIT_"))}
    environ.update(venues.environ)
    environ.update(
        {
            "ARB_STATE__REDIS_URL": REDIS_URL,
            "ARB_STATE__POSTGRES_DSN": PG_DSN,
            "ARB_STATE__POSTGRES_SCHEMA": schema,
            "ARB_OBSERVABILITY__LOG_DIR": tempfile.mkdtemp(prefix="bench-live-"),
            "ARB_OBSERVABILITY__HEALTH_PORT": "0",
            "ARB_NODE__RECONCILIATION_STARTUP_DELAY_SECS": "1",
            "ARB_NODE__TIMEOUT_POST_STOP_SECS": "0.5",
            # an Upbit IOC leg the book moved away from is canceled (as on the venue) and unwound at a small loss;
            # the 60 s symbol cooldown after it would stop the trading this run needs
            "ARB_RISK__SYMBOL_COOLDOWN_SECS": "0",
        }
    )
    return environ


def main() -> int:
    schema = f"bench_live_{uuid.uuid4().hex[:8]}"
    session = f"bench-{uuid.uuid4().hex[:8]}"
    asyncio.run(_schema("create", schema))
    venues = _Venues()
    environ = _node_environ(venues, schema)
    if os.environ.get("BENCH_LIVE_NO_RISK"):  # what the risk guard's own cost is (comparison only)
        environ["ARB_RISK__ENABLED"] = "false"
    live = build_live_node(load_settings("production", environ=environ), TradingMode.PAPER, session_id=session)
    probe = LatencyProbe()
    live.node.trader.add_actor(probe)
    stages = StageTimer()
    restore = _time_client_submits(probe, stages)
    steady: list[float] = []
    flapping: list[float] = []

    async def drop_and_time() -> float:
        # From the reset to the first quote received after the node saw its socket go down (a frame already
        # read before the reset does not count as recovered).
        client = live.node.kernel.data_engine.routing_map[BINANCE]
        dropped_at = time.monotonic()
        await asyncio.to_thread(venues.command, "drop")
        deadline = dropped_at + 60
        while binance_ws_state(client)[0] and time.monotonic() < deadline:
            await asyncio.sleep(0.0005)
        down_at = time.monotonic()
        while probe.last_binance_quote <= down_at and time.monotonic() < deadline:
            await asyncio.sleep(0.0005)
        return probe.last_binance_quote - dropped_at

    async def scenario() -> int:
        run = await _trading(live, stages)
        t_end = time.monotonic() + TRADING_SECS
        i = 0
        while time.monotonic() < t_end:
            await asyncio.to_thread(venues.command, f"factor {('0.97', '1.05')[i % 2]}")
            i += 1
            await asyncio.sleep(SWING_SECS)
        await asyncio.to_thread(venues.command, "factor 1")
        for _ in range(STEADY_DROPS):
            await asyncio.sleep(STEADY_SPACING_SECS)
            steady.append(await drop_and_time())
        for _ in range(FLAP_DROPS):
            await asyncio.sleep(FLAP_SPACING_SECS)
            flapping.append(await drop_and_time())
        await live.shutdown("benchmark done")
        return await run

    counters: dict[str, int] = {}
    bare: list[int] = []
    bare_lines: list[str] = []
    try:
        try:
            rc = live.loop.run_until_complete(scenario())
            counters = dict(live.node.trader.strategies()[0].counters)
        finally:
            restore()
            live.dispose()
            _delete_session_keys(session)
        if BARE:
            bare, bare_lines = bare_baseline(venues, schema)
    finally:
        venues.close()
        asyncio.run(_schema("drop", schema))

    print(
        f"paper node (production logging), {TRADING_SECS} s of trading against both fake venues replaying real "
        f"prices (premium swung every {SWING_SECS:g} s); exit status {rc}"
    )
    print(
        f"  strategy: entries={counters.get('entries')} exits={counters.get('exits')} "
        f"round_trips={counters.get('round_trips')}; quotes decided on: {len(probe.decision_ns)}"
    )
    print(
        _summary(
            "tick-to-order (quote ts_init -> order at the venue's execution client)",
            probe.to_client_ns,
            " (target p99 < 1 ms)",
        )
    )
    print(_summary("  first order of each decision only", probe.first_leg_ns))
    for line in stages.lines(probe.first_orders):
        print(line)
    print(_summary("  ... -> OrderSubmitted event back on the bus", probe.to_submitted_ns))
    if BARE:
        print(
            _summary(
                f"  floor: a bare NautilusTrader strategy in the same node (one LimitOrder IOC per quote, every "
                f"{BARE_EVERY_SECS:g} s; no strategy logic, no risk guard), quote ts_init -> client",
                bare,
            )
        )
        for line in bare_lines:
            print("  " + line)
    print(_summary("quote-to-decision (strategy loop)", probe.decision_ns, " (design target p99 < 25 ms)"))
    print(
        f"WebSocket reconnect MTTR (TCP reset -> first Binance quote), drops {STEADY_SPACING_SECS:g} s apart, "
        f"n={len(steady)}: median {1000 * statistics.median(steady):.0f} ms, max {1000 * max(steady):.0f} ms "
        f"(target < 1 s)"
    )
    print(
        f"  flapping, drops {FLAP_SPACING_SECS:g} s apart (NautilusTrader's backoff): "
        + ", ".join(f"{1000 * m:.0f} ms" for m in flapping)
    )
    return 0


def _delete_session_keys(session: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    found = list(client.scan_iter(match=KeyBuilder("prod", session).session_pattern(), count=1000))
    if found:
        client.delete(*found)
    client.close()


if __name__ == "__main__":
    sys.exit(main())
