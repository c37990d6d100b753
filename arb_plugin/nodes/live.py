"""
Paper and live ``TradingNode`` builder: the only place that knows which of the two it runs.

Both modes run the same :class:`arb_plugin.strategy.ArbitrageStrategy` (from the same settings as the
backtest, priced from ``[strategy.data]``: quotes), the same risk guard and the same ``StateBridge``, on the
same market data clients:

- Binance through NautilusTrader's built-in adapter (``account_type`` spot, or USDT-M futures);
- Upbit through :mod:`adapters.upbit`.

What differs is execution, chosen here and nowhere else:

- ``paper``: a ``SandboxExecutionClient`` per venue (reference §3): a cash account (margin for USDT-M
  futures) funded from ``[node] paper_starting_balances``, with an explicit zero for every other currency
  of the venue's instruments (reference §9 P3). The client is :class:`arb_plugin.nodes.paper.PaperExecutionClient`
  (the sandbox taking commands on the next loop turn, as a venue answers a live client later), created by a
  factory that keeps NautilusTrader's class name (the node builder injects the portfolio only for it, P12).
- ``live``: the venues' real execution clients. Refused unless keys for both venues are set and the caller
  confirmed it explicitly (``arb live --confirm-live``).

Around the node: the :class:`LoggingManager` (NautilusTrader's log routed in), the :class:`MetricsCollector`
flushing ``METRICS`` every second, and the ``/health`` + ``/metrics`` server. Engine exceptions shut the
node down gracefully and are logged (``graceful_shutdown_on_exception=True`` on every live engine: never the
silent ``os._exit(1)`` of reference §9 P2). SIGINT (Ctrl-C) and SIGTERM cancel working orders when
``[node] cancel_orders_on_stop`` is set, then stop the node (the state bridge marks the session stopped); a
shutdown after an engine exception sends the same cancels before NautilusTrader stops the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging as std_logging
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum
from typing import Any
from typing import TextIO

from nautilus_trader.adapters.binance import BinanceAccountType
from nautilus_trader.adapters.binance import BinanceDataClientConfig
from nautilus_trader.adapters.binance import BinanceExecClientConfig
from nautilus_trader.adapters.binance import BinanceLiveDataClientFactory
from nautilus_trader.adapters.binance import BinanceLiveExecClientFactory
from nautilus_trader.adapters.binance.common.enums import BinanceEnvironment
from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.common.messages import ShutdownSystem
from nautilus_trader.config import ImportableActorConfig
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LiveDataEngineConfig
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.config import LiveRiskEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import PortfolioConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.model.identifiers import Venue

from arb_plugin.errors import ArbPluginError
from arb_plugin.nodes.common import strategy_config
from arb_plugin.nodes.dispatch import InlineDispatch
from arb_plugin.nodes.dispatch import install_inline_dispatch
from arb_plugin.nodes.paper import SandboxLiveExecClientFactory
from arb_plugin.nodes.paper import install_paper_venue
from arb_plugin.observability.health import HealthServer
from arb_plugin.observability.health import engine_check
from arb_plugin.observability.health import postgres_check
from arb_plugin.observability.health import redis_check
from arb_plugin.observability.health import ws_check
from arb_plugin.observability.logging import LogCategory
from arb_plugin.observability.logging import LoggingManager
from arb_plugin.observability.logging import LoggingTargets
from arb_plugin.observability.metrics import MetricsCollector
from arb_plugin.observability.metrics import RedisMetricsSink
from arb_plugin.observability.metrics import render_prometheus
from arb_plugin.observability.nautilus_logs import NautilusLogRouter
from arb_plugin.observability.ws_state import venue_ws_state
from arb_plugin.risk.gate import install_from_settings
from arb_plugin.settings import Settings
from arb_plugin.state.bridge import state_bridge_actor
from arb_plugin.state.bridge import state_bridge_config
from arb_plugin.state.sessions import new_session_id


class LiveNodeError(ArbPluginError):
    """The paper or live node cannot start as asked (settings, keys, confirmation)."""


class TradingMode(StrEnum):
    """Where orders go: the sandbox (paper) or the venues (live)."""

    PAPER = "paper"
    LIVE = "live"


VENUES = ("BINANCE", "UPBIT")
BINANCE = Venue("BINANCE")
UPBIT = Venue("UPBIT")
METRICS_ACTOR_PATH = "arb_plugin.observability.metrics:MetricsCollector"
METRICS_CONFIG_PATH = "arb_plugin.observability.metrics:MetricsCollectorConfig"


# -- what the settings ask for ---------------------------------------------------------------------------


def venue_instrument_ids(settings: Settings) -> dict[str, list[str]]:
    """The instrument ids each venue must load: every pair's legs and FX instrument, in settings order."""
    out: dict[str, list[str]] = {venue: [] for venue in VENUES}
    for pair in settings.strategy.pairs:
        for iid in (pair.binance, pair.upbit, pair.fx):
            venue = iid.rpartition(".")[2]
            if iid not in out[venue]:
                out[venue].append(iid)
    return out


def instrument_currencies(instrument_id: str) -> set[str]:
    """
    The currencies an instrument id names.

    ``KRW-BTC.UPBIT`` -> ``{KRW, BTC}`` (Upbit: ``QUOTE-BASE``); ``BTCUSDT.BINANCE`` and
    ``BTCUSDT-PERP.BINANCE`` -> ``{BTC, USDT}`` (Binance: base then a known quote asset).
    """
    symbol, _, venue = instrument_id.rpartition(".")
    if venue == "UPBIT":
        quote, _, base = symbol.partition("-")
        return {quote, base}
    symbol = symbol.removesuffix("-PERP")
    for quote in ("USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB"):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return {symbol[: -len(quote)], quote}
    raise LiveNodeError(f"instrument {instrument_id}: cannot tell its currencies (unknown quote asset)")


def complete_balances(given: Iterable[str], currencies: Iterable[str]) -> list[str]:
    """``given`` plus ``"0 CCY"`` for every currency it lacks (reference §9 P3: explicit zero balances)."""
    balances = list(given)
    have = {item.split(" ", 1)[1] for item in balances}
    return balances + [f"0 {code}" for code in sorted(set(currencies) - have)]


def require_live_credentials(settings: Settings, confirmed: bool) -> None:
    """Refuse live trading without keys for both venues and an explicit confirmation."""
    names = {
        "binance_api_key": "BINANCE_API_KEY",
        "binance_api_secret": "BINANCE_API_SECRET",
        "upbit_access_key": "UPBIT_ACCESS_KEY",
        "upbit_secret_key": "UPBIT_SECRET_KEY",
    }
    missing = [env for attr, env in names.items() if getattr(settings.secrets, attr) is None]
    if missing:
        raise LiveNodeError(
            f"live trading needs API keys for both venues; not set: {', '.join(missing)} "
            "(environment variables; `arb paper` needs none)",
        )
    if not confirmed:
        raise LiveNodeError(
            "live trading sends real orders to Binance and Upbit: confirm with --confirm-live "
            "(or run `arb paper` for simulated fills on live data)",
        )
    environment = settings.venues.binance.environment
    if environment != "live":
        raise LiveNodeError(
            f"venues.binance.environment = {environment!r}: live trading needs Binance's live environment "
            "(Upbit has no test environment: real Upbit orders would be hedged by simulated Binance ones)",
        )


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _binance_account_type(settings: Settings) -> BinanceAccountType:
    binance = settings.venues.binance
    return BinanceAccountType.USDT_FUTURES if binance.account_type == "usdt_futures" else BinanceAccountType.SPOT


def _binance_environment(settings: Settings) -> BinanceEnvironment:
    return BinanceEnvironment(settings.venues.binance.environment.upper())


def binance_data_config(settings: Settings) -> BinanceDataClientConfig:
    """NautilusTrader's Binance data client for the pairs' Binance instruments."""
    binance = settings.venues.binance
    ids = venue_instrument_ids(settings)["BINANCE"]
    return BinanceDataClientConfig(
        api_key=_secret(settings.secrets.binance_api_key),
        api_secret=_secret(settings.secrets.binance_api_secret),
        account_type=_binance_account_type(settings),
        environment=_binance_environment(settings),
        base_url_http=binance.base_url_http,
        base_url_ws=binance.base_url_ws,
        us=binance.us,
        update_instruments_interval_mins=binance.update_instruments_interval_mins,
        instrument_provider=InstrumentProviderConfig(load_ids=frozenset(ids)),
    )


def binance_exec_config(settings: Settings) -> BinanceExecClientConfig:
    """NautilusTrader's Binance execution client (live mode)."""
    binance = settings.venues.binance
    return BinanceExecClientConfig(
        api_key=_secret(settings.secrets.binance_api_key),
        api_secret=_secret(settings.secrets.binance_api_secret),
        account_type=_binance_account_type(settings),
        environment=_binance_environment(settings),
        base_url_http=binance.base_url_http,
        base_url_ws=binance.base_url_ws_api,  # the exec client's base_url_ws is Binance's WS-API
        base_url_ws_stream=binance.base_url_ws_stream,
        us=binance.us,
        instrument_provider=InstrumentProviderConfig(load_ids=frozenset(venue_instrument_ids(settings)["BINANCE"])),
    )


def upbit_data_config(settings: Settings) -> Any:
    """``adapters.upbit`` data client for the pairs' Upbit instruments (legs and FX)."""
    from adapters.upbit.config import UpbitDataClientConfig

    upbit = settings.venues.upbit
    return UpbitDataClientConfig(
        base_url_ws=upbit.base_url_ws,
        rest_poll_interval_secs=float(upbit.rest_poll_interval_secs),  # the market-data REST fallback
        **_upbit_common(settings),
    )


def upbit_exec_config(settings: Settings) -> Any:
    """``adapters.upbit`` execution client (live mode)."""
    from adapters.upbit.config import UpbitExecClientConfig

    private = settings.venues.upbit.base_url_ws_private
    return UpbitExecClientConfig(base_url_ws_private=private, **_upbit_common(settings))


def _upbit_common(settings: Settings) -> dict[str, Any]:
    """
    What the Upbit data and execution client configs share: keys, REST URL, JWT algorithm, HTTP timeout, the
    order rate limit and the pairs' instruments.
    """
    from adapters.upbit.config import UpbitInstrumentProviderConfig
    from adapters.upbit.enums import UpbitJwtAlgorithm

    upbit = settings.venues.upbit
    rate = upbit.order_rate_per_sec
    return {
        "access_key": _secret(settings.secrets.upbit_access_key),
        "secret_key": _secret(settings.secrets.upbit_secret_key),
        "base_url_http": upbit.base_url_http,
        "jwt_algorithm": UpbitJwtAlgorithm(upbit.jwt_algorithm),
        "http_timeout_secs": float(upbit.http_timeout_secs),
        "order_rate_per_sec": None if rate is None else float(rate),
        "instrument_provider": UpbitInstrumentProviderConfig(
            load_ids=frozenset(venue_instrument_ids(settings)["UPBIT"]),
        ),
    }


def sandbox_exec_config(settings: Settings, venue: str) -> SandboxExecutionClientConfig:
    """A paper venue: NautilusTrader's sandbox with a funded account (explicit zeros, P3)."""
    given = settings.node.paper_starting_balances.get(venue)  # type: ignore[call-overload]
    if not given:
        raise LiveNodeError(
            f"node.paper_starting_balances.{venue} is not set: paper trading needs funded accounts on both "
            f'venues, e.g. {venue} = ["20000 USDT", "0.2 BTC"]',
        )
    currencies = set().union(*(instrument_currencies(i) for i in venue_instrument_ids(settings)[venue]))
    futures = venue == "BINANCE" and settings.venues.binance.account_type == "usdt_futures"
    return SandboxExecutionClientConfig(
        venue=venue,
        account_type="MARGIN" if futures else "CASH",
        oms_type="NETTING",
        starting_balances=complete_balances(given, currencies),
    )


_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "OFF")


def _keeps_info(logging: LoggingConfig) -> bool:
    """Whether NautilusTrader's logging set by ``logging`` writes INFO lines anywhere (stdout or file)."""
    levels = [logging.log_level] + ([logging.log_level_file] if logging.log_level_file else [])
    return any(_LEVELS.index(level.upper()) <= _LEVELS.index("INFO") for level in levels)


def build_node_config(
    settings: Settings,
    mode: TradingMode,
    session_id: str,
    logging: LoggingConfig,
    state_bridge: ImportableActorConfig,
) -> TradingNodeConfig:
    """The ``TradingNodeConfig`` for ``mode`` (clients, engines, strategy, actors)."""
    node = settings.node
    data_clients = {"BINANCE": binance_data_config(settings), "UPBIT": upbit_data_config(settings)}
    if mode is TradingMode.PAPER:
        exec_clients: dict[str, Any] = {venue: sandbox_exec_config(settings, venue) for venue in VENUES}
    else:
        exec_clients = {"BINANCE": binance_exec_config(settings), "UPBIT": upbit_exec_config(settings)}
    # The bridge first: NautilusTrader starts actors before strategies, and it puts the resume state in the
    # cache before the strategy starts.
    actors = [state_bridge]
    actors.append(
        ImportableActorConfig(
            actor_path=METRICS_ACTOR_PATH,
            config_path=METRICS_CONFIG_PATH,
            config={
                "window_secs": settings.observability.metrics_window_secs,
                "flush_interval_ms": settings.observability.metrics_flush_ms,
            },
        ),
    )
    return TradingNodeConfig(
        trader_id=TraderId(node.trader_id),
        instance_id=None,
        logging=logging,
        data_engine=LiveDataEngineConfig(graceful_shutdown_on_exception=True),
        risk_engine=LiveRiskEngineConfig(graceful_shutdown_on_exception=True),
        exec_engine=LiveExecEngineConfig(
            graceful_shutdown_on_exception=True,
            reconciliation=True,
            reconciliation_lookback_mins=node.reconciliation_lookback_mins,
            reconciliation_startup_delay_secs=node.reconciliation_startup_delay_secs,
        ),
        portfolio=PortfolioConfig(use_mark_xrates=True),
        data_clients=data_clients,
        exec_clients=exec_clients,
        strategies=[
            strategy_config(
                settings.strategy,
                settings.strategy.data,
                emit_decision_latency=True,
                # NautilusTrader formats every order event and command for an INFO line as the order passes,
                # level or not: only where the node's logging keeps INFO (tens of us per order, cold)
                log_events=_keeps_info(logging),
                log_commands=_keeps_info(logging),
            ),
        ],
        actors=actors,
        timeout_connection=node.timeout_connection_secs,
        timeout_disconnection=node.timeout_disconnection_secs,
        timeout_post_stop=node.timeout_post_stop_secs,
    )


# -- the running node ------------------------------------------------------------------------------------


@dataclass(repr=False)
class LiveNode:
    """A built paper or live node with its logging, metrics and health server; :meth:`run` runs it."""

    settings: Settings
    mode: TradingMode
    session_id: str
    node: TradingNode
    logging: LoggingManager
    router: NautilusLogRouter
    metrics: MetricsCollector
    health: HealthServer
    dispatch: InlineDispatch | None = None
    shutdown_reason: str | None = None
    failed: bool = False
    _stopping: bool = field(default=False, repr=False)
    _stdlib_handler: std_logging.Handler | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"LiveNode(mode={self.mode.value}, session={self.session_id})"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.node.get_event_loop()  # type: ignore[return-value]

    @property
    def log(self) -> Any:
        return self.logging.get_logger(LogCategory.ENGINE, "LiveNode")

    def run(self) -> int:
        """Run until stopped (SIGINT/SIGTERM or an engine failure); return the exit status."""
        try:
            return self.loop.run_until_complete(self.run_async())
        finally:
            self.dispose()

    async def run_async(self, started: asyncio.Event | None = None) -> int:
        """Start the health server and the node, wait until it stops; 0 on a requested stop, 1 on failure."""
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._on_loop_exception)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, sig)  # replaces the kernel's own handler
        port = await self.health.start()
        self.log.info(
            f"{self.mode.value} node session={self.session_id} health=http://{self.health.host}:{port}/health",
        )
        run = loop.create_task(self.node.run_async(), name="trading-node")
        watchdog = loop.create_task(self._watch_startup(started), name="startup-watchdog")
        try:
            await run
        except Exception as e:  # never a silent exit: say what stopped the node
            self.log.exception("the node failed", e)
            self.shutdown_reason, self.failed = f"{type(e).__name__}: {e}", True
        finally:
            watchdog.cancel()
            await self.metrics.close_sink()
            await self.health.stop()
        if self.shutdown_reason is not None and self.failed:
            self.log.error(f"node stopped: {self.shutdown_reason}")
            return 1
        self.log.info(f"node stopped: {self.shutdown_reason or 'done'}")
        return 0

    async def _watch_startup(self, started: asyncio.Event | None) -> None:
        node = self.settings.node
        budget = node.timeout_connection_secs + node.reconciliation_startup_delay_secs + 30
        deadline = time.monotonic() + budget
        while not self.node.trader.is_running:
            if time.monotonic() > deadline:
                await self.shutdown(f"the node did not start within {budget:g} s (see the log above)", failed=True)
                return
            await asyncio.sleep(0.05)
        self.log.info(f"{self.mode.value} node running: {', '.join(str(s.id) for s in self.node.trader.strategies())}")
        if started is not None:
            started.set()

    def _on_signal(self, sig: signal.Signals) -> None:
        if self._stopping:
            self.log.warning(f"received {sig.name} again: already stopping")
            return
        self.loop.create_task(self.shutdown(f"received {sig.name}"))

    def _on_shutdown_command(self, command: ShutdownSystem) -> None:
        # NautilusTrader's graceful shutdown after an engine exception (or a component asking the system to
        # shut down): the run ends with status 1, so a supervisor (systemd Restart=on-failure) restarts it.
        if self.shutdown_reason is None:
            self.shutdown_reason = command.reason or "ShutdownSystem"
            self.failed = True
        if not self._stopping and self.settings.node.cancel_orders_on_stop and self.node.trader.is_running:
            # the kernel stops the node on this same command: the cancels go out now, before its stop runs
            # (no wait for their confirmation: the venue may answer after the clients disconnected)
            self._request_cancels()
        self._stopping = True

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        message = context.get("message", "unhandled exception in the event loop")
        if error is not None:
            self.log.exception(message, error)
        else:
            self.log.error(message)

    async def shutdown(self, reason: str, failed: bool = False) -> None:
        """Cancel working orders (per settings), then stop the node."""
        if self._stopping:
            return
        self._stopping = True
        self.shutdown_reason = reason
        self.failed = failed
        self.log.warning(f"stopping: {reason}")
        if self.settings.node.cancel_orders_on_stop and self.node.trader.is_running:
            await self.cancel_working_orders()
        await self.node.stop_async()

    async def cancel_working_orders(self, timeout_s: float = 5.0) -> int:
        """Ask every strategy to cancel its open orders; wait (bounded) until none is open."""
        cache = self.node.cache
        open_orders = self._request_cancels()
        if not open_orders:
            return 0
        deadline = time.monotonic() + timeout_s
        while cache.orders_open() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        left = len(cache.orders_open())
        self.log.warning(f"cancelled working orders on stop: {len(open_orders) - left} of {len(open_orders)}")
        return len(open_orders)

    def _request_cancels(self) -> list[Any]:
        # every strategy cancels its open orders on each instrument with one; returns the orders open before
        open_orders = self.node.cache.orders_open()
        for instrument_id in {order.instrument_id for order in open_orders}:
            for strategy in self.node.trader.strategies():
                strategy.cancel_all_orders(instrument_id)
        return open_orders

    def dispose(self) -> None:
        """Dispose the node and close logging (after :meth:`run_async` has returned)."""
        if not self.loop.is_closed():
            if not self.loop.is_running():
                # NautilusTrader closes the loop with tasks still pending (each actor's ActorExecutor
                # worker): cancelled and awaited here, or Python reports them at exit
                self.node.kernel.cancel_all_tasks()
            self.node.dispose()
        self.router.close()
        if self._stdlib_handler is not None:
            std_logging.getLogger().removeHandler(self._stdlib_handler)
        self.logging.stop()


def _health_checks(live: LiveNode) -> dict[str, Any]:
    settings = live.settings
    schema = settings.state.postgres_schema
    routing = live.node.kernel.data_engine.routing_map

    def engine_detail() -> str:
        data = "connected" if live.node.kernel.data_engine.check_connected() else "disconnected"
        return f"trader {live.node.trader.state.name.lower()}, data clients {data}"

    return {
        "redis": redis_check(settings.redis_url),
        "postgres": postgres_check(settings.postgres_dsn, {"search_path": schema}),
        "ws_binance": ws_check(lambda: venue_ws_state(routing.get(BINANCE))),
        "ws_upbit": ws_check(lambda: venue_ws_state(routing.get(UPBIT))),
        "engine": engine_check(lambda: live.node.trader.is_running, engine_detail),
    }


def build_live_node(
    settings: Settings,
    mode: TradingMode,
    session_id: str | None = None,
    confirm_live: bool = False,
    console: TextIO | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> LiveNode:
    """
    Build the paper or live node from the settings (nothing connects until :meth:`LiveNode.run`).

    Raises
    ------
    LiveNodeError
        Live without keys for both venues or without ``confirm_live``; paper without balances.
    """
    if mode is TradingMode.LIVE:
        require_live_credentials(settings, confirm_live)
    session_id = session_id or new_session_id()
    schema = settings.state.postgres_schema
    obs = settings.observability
    logging_manager = LoggingManager(
        settings.env,
        session_id,
        LoggingTargets(
            log_dir=obs.log_dir,
            redis_url=settings.redis_url,
            postgres_dsn=settings.postgres_dsn,
            postgres_server_settings={"search_path": schema},
            stream_maxlen=obs.log_stream_maxlen,
            pg_batch_size=obs.log_pg_batch_size,
            pg_flush_ms=obs.log_pg_flush_ms,
        ),
        secrets=settings.secrets.values(),
        console=console,
    ).start()
    router = NautilusLogRouter(logging_manager)
    try:
        node_config = build_node_config(
            settings, mode, session_id, router.logging_config(), state_bridge=_state_bridge(settings, session_id, mode)
        )
        loop = loop or _new_event_loop()
        asyncio.set_event_loop(loop)
        node = TradingNode(config=node_config, loop=loop)
        router.attach()
        node.add_data_client_factory("BINANCE", BinanceLiveDataClientFactory)
        node.add_data_client_factory("UPBIT", _upbit_factories()[0])
        if mode is TradingMode.PAPER:
            node.add_exec_client_factory("BINANCE", SandboxLiveExecClientFactory)
            node.add_exec_client_factory("UPBIT", SandboxLiveExecClientFactory)
        else:
            node.add_exec_client_factory("BINANCE", BinanceLiveExecClientFactory)
            node.add_exec_client_factory("UPBIT", _upbit_factories()[1])
        node.build()
        # The risk guard, installed after build exactly as the backtest does (arb_plugin.risk.gate).
        install_from_settings(node, settings, settings.strategy.data)
        if mode is TradingMode.PAPER:
            install_paper_venue(node.kernel)
        dispatch = install_inline_dispatch(node.kernel) if settings.node.inline_dispatch else None
    except BaseException:
        router.close()
        logging_manager.stop()
        raise
    metrics = next(a for a in node.trader.actors() if isinstance(a, MetricsCollector))
    metrics.bind(RedisMetricsSink(settings.redis_url, settings.env.short, session_id), logging_manager.error_count)
    labels = {"env": settings.env.value, "session": session_id, "mode": mode.value}
    live = LiveNode(
        settings=settings,
        mode=mode,
        session_id=session_id,
        node=node,
        logging=logging_manager,
        router=router,
        metrics=metrics,
        health=HealthServer(
            {},
            metrics_text=lambda: render_prometheus(metrics.latest, labels, metrics.latest_by_symbol),
            host=obs.health_host,
            port=obs.health_port,
            timeout_s=obs.health_check_timeout_ms / 1000,
        ),
        dispatch=dispatch,
    )
    live.health.checks.update(_health_checks(live))
    node.kernel.msgbus.subscribe("commands.system.shutdown", live._on_shutdown_command)
    handler = logging_manager.stdlib_handler(LogCategory.SYSTEM)
    handler.setLevel(std_logging.WARNING)
    std_logging.getLogger().addHandler(handler)
    live._stdlib_handler = handler
    live.log.info(
        f"built {mode.value} node: env={settings.env.value} trader={settings.node.trader_id} "
        f"instruments={venue_instrument_ids(settings)} log={logging_manager.file_path} "
        f"stream={logging_manager.stream_key}",
    )
    return live


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop event loop (NautilusTrader's own dependency on Linux/macOS), else asyncio's default.

    Every frame, timer and engine-queue message of a live node is a loop callback (with inline dispatch, the
    events queues still are), so the loop's cost per iteration is part of every latency.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover (uvloop is installed with nautilus_trader on Linux)
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _upbit_factories() -> tuple[Any, Any]:
    from adapters.upbit.factories import UpbitLiveDataClientFactory
    from adapters.upbit.factories import UpbitLiveExecClientFactory

    return UpbitLiveDataClientFactory, UpbitLiveExecClientFactory


def _state_bridge(settings: Settings, session_id: str, mode: TradingMode) -> ImportableActorConfig:
    """The StateBridge actor (``arb_plugin.state``), added exactly as the backtest adds it."""
    return state_bridge_actor(state_bridge_config(settings, session_id, mode.value))
