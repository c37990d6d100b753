"""
StateBridge: a NautilusTrader Actor that mirrors trading state into the StateStore.

It subscribes to NautilusTrader's fills (``events.fills.*``), position events (``events.position.*``),
account states (``events.account.*``) and risk events (``events.risk``), and to our own messages
(:mod:`arb_plugin.events`: pair snapshots, closed pairs, leg-risk alerts, guard state). Handlers only
update in-memory state; every ``flush_interval_ms`` (at most once, and only when something changed) the
batch goes to the :class:`~arb_plugin.state.writer.StateWriter`, which writes it on its own thread: one
Redis round trip and one COPY. The trading loop never waits on I/O.

Time: the flush is a one-shot time alert set when the first change after a flush arrives, so a
backtest on simulated time gets at most one callback per simulated interval *with activity* and none
while idle (a repeating 1 s timer would fire 86,400 times per simulated day). A slow repeating timer
(``refresh_interval_secs``) re-derives PORTFOLIO and the positions, paced by the wall clock. The session
heartbeat and TTL renewal run on the writer's wall clock.

Keys written (see :mod:`arb_plugin.state.keys`):

- ``SNAPSHOT:{symbol}``: the latest PairSnapshot (resume); every transition is also a
  ``position_snapshots`` row.
- ``STATE:{symbol}:position``: the pair's open positions per venue leg; ``STATE:{symbol}:leg_risk``.
- ``STATE`` (session-wide): SESSION metadata; ``STATE:trading_state`` (risk engine state).
- ``PORTFOLIO``: exposure and PnL in KRW and USDT, balances (a ``session_snapshots`` row every
  ``pg_snapshot_interval_secs``).
- ``GUARD`` / ``GUARD:{symbol}`` / ``COOLDOWN[:{symbol}]``: the risk guard's state, from the
  ``GuardStateSnapshot`` it publishes on ``GUARD_STATE_TOPIC`` (every GUARD value also a
  ``risk_guard_snapshots`` row); see :meth:`StateStore.guard_state_writes`.

Resume: on start, before any strategy starts (NautilusTrader's Trader starts actors first), the bridge
loads the latest PairSnapshot per symbol and the guard state (Redis, else PostgreSQL) and puts their JSON
in the Cache under ``RESUME_CACHE_KEY`` / ``GUARD_RESUME_CACHE_KEY``. The RiskEngine has started by then,
so the guard state is also published on ``GUARD_RESUME_TOPIC``, where the risk guard takes it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from typing import Any

import msgspec
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.config import ImportableActorConfig
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.events import AccountState
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import PositionEvent
from nautilus_trader.model.identifiers import InstrumentId

from arb_plugin.events import GUARD_RESUME_CACHE_KEY
from arb_plugin.events import GUARD_RESUME_TOPIC
from arb_plugin.events import GUARD_STATE_TOPIC
from arb_plugin.events import LEG_RISK_TOPIC
from arb_plugin.events import PAIR_CLOSED_TOPIC
from arb_plugin.events import PAIR_STATE_TOPIC
from arb_plugin.events import RESUME_CACHE_KEY
from arb_plugin.events import SESSION_START_CACHE_KEY
from arb_plugin.events import GuardStateSnapshot
from arb_plugin.events import LegRiskAlert
from arb_plugin.events import PairClosed
from arb_plugin.events import PairSnapshot
from arb_plugin.events import parse_order_tags
from arb_plugin.state.aggregates import instrument_symbol
from arb_plugin.state.aggregates import portfolio_summary
from arb_plugin.state.aggregates import position_summary
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.records import KeyWrite
from arb_plugin.state.records import SnapshotTable
from arb_plugin.state.records import event_row
from arb_plugin.state.sessions import SessionInfo
from arb_plugin.state.sessions import new_session_id
from arb_plugin.state.store import StateStore
from arb_plugin.state.writer import Batch
from arb_plugin.state.writer import StateWriter
from arb_plugin.timers import on_loop

_FLUSH_ALERT = "StateBridge-flush"
_REFRESH_TIMER = "StateBridge-refresh"


class StateBridgeConfig(ActorConfig, frozen=True):
    """
    Configuration of :class:`StateBridge` (usable through ``ImportableActorConfig``).

    Build it from settings with :func:`state_bridge_config`. ``env`` is the short environment name used in
    keys (``dev``/``stg``/``prod``); ``session_id`` ``None`` starts a new session, an existing id resumes it.
    ``mode`` and ``config_hash`` are recorded in the session metadata only.

    Secrets never travel in the config (NautilusTrader publishes component configs): ``redis_url`` and
    ``postgres_dsn`` are password-free, and a URL/DSN that carries one is read at start from the
    environment variables named by ``redis_url_env`` / ``postgres_dsn_env`` when they are set.
    """

    env: str = "dev"
    session_id: str | None = None
    mode: str = "backtest"
    config_hash: str | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/test"
    redis_url_env: str | None = "ARB_REDIS_URL"
    postgres_dsn_env: str | None = "ARB_POSTGRES_DSN"
    postgres_schema: str = "public"
    redis_pool_size: int = 8
    redis_timeout_ms: int = 500
    redis_retry_secs: float = 1.0
    flush_interval_ms: int = 1000
    refresh_interval_secs: int = 60
    pg_snapshot_interval_secs: int = 60
    heartbeat_interval_secs: float = 5.0
    heartbeat_timeout_secs: float = 30.0
    resume: bool = True
    io_timeout_secs: float = 30.0


def state_bridge_config(
    settings: Any,
    session_id: str | None,
    mode: str,
    config_hash: str | None = None,
    **overrides: Any,
) -> StateBridgeConfig:
    """A :class:`StateBridgeConfig` from :class:`arb_plugin.settings.Settings` (``[state]`` + secrets)."""
    state = settings.state
    values: dict[str, Any] = {
        "env": settings.env.short,
        "session_id": session_id,
        "mode": mode,
        "config_hash": config_hash,
        "redis_url": state.redis_url,  # password-free; a secret URL/DSN is read from the environment
        "postgres_dsn": state.postgres_dsn,
        "postgres_schema": state.postgres_schema,
        "redis_pool_size": state.redis_pool_size,
        "redis_timeout_ms": state.redis_timeout_ms,
        "redis_retry_secs": state.redis_retry_secs,
        "flush_interval_ms": state.flush_interval_ms,
        "refresh_interval_secs": state.refresh_interval_secs,
        "pg_snapshot_interval_secs": state.pg_snapshot_interval_secs,
        "heartbeat_interval_secs": state.heartbeat_interval_secs,
        "heartbeat_timeout_secs": state.heartbeat_timeout_secs,
    }
    values.update(overrides)
    return StateBridgeConfig(**values)


def state_bridge_actor(config: StateBridgeConfig) -> ImportableActorConfig:
    """The ``ImportableActorConfig`` that adds a :class:`StateBridge` to any node (backtest, paper, live)."""
    return ImportableActorConfig(
        actor_path="arb_plugin.state.bridge:StateBridge",
        config_path="arb_plugin.state.bridge:StateBridgeConfig",
        config=config.json_primitives(),
    )


_encode = msgspec.json.Encoder().encode


class StateBridge(Actor):
    """
    Mirrors fills, positions, accounts, risk events and pair state into Redis and PostgreSQL.

    Parameters
    ----------
    config : StateBridgeConfig
        The configuration.
    """

    def __init__(self, config: StateBridgeConfig | None = None) -> None:
        config = config or StateBridgeConfig()
        super().__init__(config)
        self._config = config
        self.session_id = config.session_id or new_session_id()
        self.keys = KeyBuilder(config.env, self.session_id)
        self.store: StateStore | None = None
        self.writer: StateWriter | None = None
        self.session: SessionInfo | None = None
        self.resumed: dict[str, PairSnapshot] = {}
        self.resumed_guard: GuardStateSnapshot | None = None
        self._interval_ns = config.flush_interval_ms * 1_000_000
        self._pg_interval_ns = config.pg_snapshot_interval_secs * 1_000_000_000
        self._batch = Batch()
        self._alert_pending = False
        self._alert_name = ""  # the flush alert armed last (one name per arming: see _mark)
        self._alerts_armed = 0
        self._on_flush_alert_on_loop: Any = self._on_flush_alert  # on_start: made to run on the node's loop
        self._live = False  # between on_start and on_stop: flushes are scheduled
        self._dirty_symbols: set[str] = set()
        self._portfolio_dirty = False
        self._last_portfolio_row_ns = 0
        self._next_refresh = time.monotonic() + config.refresh_interval_secs
        self._instrument_pair: dict[InstrumentId, str] = {}
        self._pair_instruments: dict[str, set[InstrumentId]] = {}
        self._subscriptions: list[tuple[str, Any]] = []
        self.flushes = 0  # batches handed to the writer
        self.flush_alerts = 0  # flush time alerts fired
        self.refreshes = 0  # refresh timer callbacks
        self.session_lost: str | None = None  # why this process stopped owning its session
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle ------------------------------------------------------------------------------------

    def on_start(self) -> None:
        config = self._config
        redis_url = (config.redis_url_env and os.environ.get(config.redis_url_env)) or config.redis_url
        postgres_dsn = (config.postgres_dsn_env and os.environ.get(config.postgres_dsn_env)) or config.postgres_dsn
        self.store = StateStore(
            self.keys,
            redis_url=redis_url,
            postgres_dsn=postgres_dsn,
            postgres_schema=config.postgres_schema,
            redis_pool_size=config.redis_pool_size,
            redis_timeout_ms=config.redis_timeout_ms,
            redis_retry_secs=config.redis_retry_secs,
            on_problem=self._report,
        )
        try:
            self._loop = asyncio.get_running_loop()  # a live node's
        except RuntimeError:
            self._loop = None  # a backtest
        self.writer = StateWriter(
            self.store,
            config.heartbeat_interval_secs,
            self._report,
            renew_interval_secs=config.refresh_interval_secs,
            on_session_lost=self._session_lost_threadsafe,
        )
        self.writer.start(config.io_timeout_secs)
        store = self.store
        self.session = self.writer.call(
            lambda: store.start_session(
                config.mode,
                config.config_hash,
                config.heartbeat_timeout_secs,
                wait_for_expiry=True,
            ),
            config.io_timeout_secs + 2 * config.heartbeat_timeout_secs,
        )
        self.writer.enable_heartbeat()
        verb = "resumed" if self.session.resumed else "started"
        self.log.info(f"Session {self.session_id} {verb} (starts={self.session.starts}, mode={config.mode})")
        if config.resume:
            self._resume()
        for topic, handler in (
            ("events.fills.*", self._on_fill),
            ("events.position.*", self._on_position),
            ("events.account.*", self._on_account),
            ("events.risk", self._on_risk),
            (PAIR_STATE_TOPIC, self._on_pair_state),
            (PAIR_CLOSED_TOPIC, self._on_pair_closed),
            (LEG_RISK_TOPIC, self._on_leg_risk),
            (GUARD_STATE_TOPIC, self._on_guard_state),
        ):
            self.msgbus.subscribe(topic, handler)
            self._subscriptions.append((topic, handler))
        if self.resumed_guard is not None:
            # The RiskEngine started before the actors: the guard takes its state from this message (and
            # publishes it back at once, which the subscription above writes).
            self.msgbus.publish(GUARD_RESUME_TOPIC, self.resumed_guard)
        # timer callbacks run on the node's loop, with the handlers that fill the batch (arb_plugin.timers)
        self._on_flush_alert_on_loop = on_loop(self._on_flush_alert)
        self.clock.set_timer(
            _REFRESH_TIMER,
            dt.timedelta(seconds=config.refresh_interval_secs),
            callback=on_loop(self._on_refresh),
        )
        self._portfolio_dirty = True
        self._live = True
        self._mark()

    def _session_lost_threadsafe(self, reason: str) -> None:
        # the writer's thread: hand over to the node's loop (a backtest has no other process to lose it to)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_session_lost, reason)

    def _on_session_lost(self, reason: str) -> None:
        # Two processes must never trade one session: this one stops (its orders are handled by the node's
        # stop), and on_stop leaves the session's row to its new owner.
        if self.session_lost is not None:
            return
        self.session_lost = reason
        self.log.error(reason)
        self.shutdown_system(reason)

    def _resume(self) -> None:
        assert self.writer is not None and self.store is not None
        store = self.store
        snapshots = self.writer.call(store.load_pair_snapshots, self._config.io_timeout_secs)
        for symbol, snapshot in sorted(snapshots.items()):
            self.cache.add(RESUME_CACHE_KEY.format(symbol=symbol), snapshot.to_json())
            self.log.info(
                f"Resume {symbol}: {snapshot.status.value} qty={snapshot.quantity} "
                f"round_trips={snapshot.round_trips} pnl_krw={snapshot.realized_pnl_krw}",
            )
            for leg in snapshot.legs:
                self._learn(InstrumentId.from_str(leg.instrument_id), symbol)
        self.resumed = snapshots
        if self.session is not None and self.session.resumed:
            # a pair with no snapshot adopts the strategy's orders issued since the session started (see
            # ArbitrageStrategy._adopt_orphans)
            started_ns = int(self.session.started_at.timestamp()) * 1_000_000_000
            self.cache.add(SESSION_START_CACHE_KEY, str(started_ns).encode())
        guard = self.writer.call(store.load_guard_state, self._config.io_timeout_secs)
        if guard is not None:
            self.cache.add(GUARD_RESUME_CACHE_KEY, guard.to_json())
            self.log.info(
                f"Resume guard state: {len(guard.symbols)} symbol(s), {len(guard.cooldowns)} cooldown(s)",
            )
        self.resumed_guard = guard

    def on_stop(self) -> None:
        # Subscriptions stay until dispose: NautilusTrader stops actors before strategies, and what the
        # strategy publishes while stopping is still written (on dispose).
        self._live = False
        self._cancel_timers()
        self._flush(final=True)
        if self.writer is not None and self.store is not None:
            store = self.store
            self.writer.drain(self._config.io_timeout_secs)
            self.writer.call(store.stop_session, self._config.io_timeout_secs)
            self.log.info(f"Session {self.session_id} stopped")

    def on_dispose(self) -> None:
        for topic, handler in self._subscriptions:
            self.msgbus.unsubscribe(topic, handler)
        self._subscriptions.clear()
        if self.writer is not None:
            self._flush(final=True)
            self.writer.stop(self._config.io_timeout_secs)
            self.writer = None

    def _cancel_timers(self) -> None:
        names = self.clock.timer_names
        for name in (self._alert_name, _REFRESH_TIMER):
            if name in names:
                self.clock.cancel_timer(name)
        self._alert_pending = False

    def _report(self, message: str) -> None:
        self.log.warning(f"state: {message}")

    # -- handlers (trading loop: memory only) ---------------------------------------------------------

    def _mark(self) -> None:
        if self._alert_pending or not self._live:
            return
        self._alert_pending = True
        # A fired live alert's name stays registered until its callback has returned on the clock's thread,
        # which may be after the loop has run the flush: each arming takes a name of its own.
        self._alerts_armed += 1
        self._alert_name = f"{_FLUSH_ALERT}-{self._alerts_armed}"
        self.clock.set_time_alert_ns(
            self._alert_name,
            self.clock.timestamp_ns() + self._interval_ns,
            callback=self._on_flush_alert_on_loop,
        )

    def _learn(self, instrument_id: InstrumentId, symbol: str) -> None:
        if self._instrument_pair.get(instrument_id) != symbol:
            self._instrument_pair[instrument_id] = symbol
            self._pair_instruments.setdefault(symbol, set()).add(instrument_id)

    def _symbol_of(self, instrument_id: InstrumentId) -> str:
        symbol = self._instrument_pair.get(instrument_id)
        if symbol is None:
            symbol = instrument_symbol(instrument_id)
            self._learn(instrument_id, symbol)
        return symbol

    def _on_pair_state(self, snapshot: PairSnapshot) -> None:
        assert self.store is not None
        self._batch.add(self.store.pair_snapshot_write(snapshot))
        for leg in snapshot.legs:
            instrument_id = InstrumentId.from_str(leg.instrument_id)
            if instrument_id not in self._instrument_pair:
                self._learn(instrument_id, snapshot.symbol)
        # A pair's state changes when orders go out or end (a few times a minute): it is handed to the
        # writer now, not after flush_interval_ms, so a crash right after orders are sent resumes a state
        # that lists them (otherwise the last written state would not know them)
        self._submit_pending()
        self._mark()

    def _submit_pending(self) -> None:
        # the writes pending so far, in order, as they are (the derived summaries wait for the timed flush)
        if self.writer is None or not self._live or not self._batch:
            return
        batch, self._batch = self._batch, Batch()
        self.writer.submit(batch)
        self.flushes += 1

    def _on_pair_closed(self, closed: PairClosed) -> None:
        self._batch.add_row(
            event_row(SnapshotTable.POSITION, "pair_closed", _encode(closed), closed.symbol, closed.ts_event),
        )
        self._portfolio_dirty = True
        self._mark()

    def _on_leg_risk(self, alert: LegRiskAlert) -> None:
        self._batch.add(
            KeyWrite(Domain.STATE, alert.symbol, "leg_risk", _encode(alert), durable=True, ts_event=alert.ts_event),
        )
        self._mark()

    def _on_guard_state(self, snapshot: GuardStateSnapshot) -> None:
        assert self.store is not None
        for write in self.store.guard_state_writes(snapshot):
            self._batch.add(write)
        self._mark()

    def _on_fill(self, fill: OrderFilled) -> None:
        order = self.cache.order(fill.client_order_id)
        _, pair = parse_order_tags(order.tags if order is not None else None)
        if pair is not None:
            self._learn(fill.instrument_id, pair)
        symbol = self._symbol_of(fill.instrument_id)
        self._batch.add_row(
            event_row(SnapshotTable.POSITION, "fill", _encode(OrderFilled.to_dict(fill)), symbol, fill.ts_event),
        )
        self._dirty_symbols.add(symbol)
        self._portfolio_dirty = True
        self._mark()

    def _on_position(self, event: PositionEvent) -> None:
        symbol = self._symbol_of(event.instrument_id)
        data = _encode(type(event).to_dict(event))
        self._batch.add_row(event_row(SnapshotTable.POSITION, "position", data, symbol, event.ts_event))
        self._dirty_symbols.add(symbol)
        self._portfolio_dirty = True
        self._mark()

    def _on_account(self, state: AccountState) -> None:
        self._batch.add_row(
            event_row(SnapshotTable.SESSION, "account", _encode(AccountState.to_dict(state)), None, state.ts_event),
        )
        self._portfolio_dirty = True
        self._mark()

    def _on_risk(self, event: Any) -> None:
        to_dict = getattr(type(event), "to_dict", None)
        data = _encode(to_dict(event)) if to_dict is not None else _encode({"event": repr(event)})
        ts_event = getattr(event, "ts_event", None)
        self._batch.add(KeyWrite(Domain.STATE, None, "trading_state", data, durable=True, ts_event=ts_event))
        self._mark()

    # -- flush (timer callbacks) ------------------------------------------------------------------------

    def _on_flush_alert(self, event: TimeEvent) -> None:
        if event.name != self._alert_name or not self._live:
            return  # an alert cancelled or superseded while its time event was on its way to the loop
        self._alert_pending = False
        self.flush_alerts += 1
        self._flush()

    def _on_refresh(self, event: TimeEvent) -> None:
        # The timer runs on the node's clock (simulated in a backtest, where it fires once a simulated
        # minute); the work is paced by the wall clock, so a fast backtest does not re-derive PORTFOLIO
        # thousands of times a second. TTL renewal is the writer's (wall clock).
        if not self._live:
            return  # a time event that reached the loop after on_stop
        self.refreshes += 1
        now = time.monotonic()
        if now < self._next_refresh:
            return
        self._next_refresh = now + self._config.refresh_interval_secs
        self._portfolio_dirty = True
        self._dirty_symbols.update(self._pair_instruments)
        self._flush()

    def _flush(self, final: bool = False) -> None:
        if self.writer is None:
            return
        now = self.clock.timestamp_ns()
        batch = self._batch
        for symbol in self._dirty_symbols:
            positions = []
            for instrument_id in self._pair_instruments.get(symbol, ()):
                positions.extend(self.cache.positions(instrument_id=instrument_id))
            summary = position_summary(symbol, positions, now)
            batch.add(KeyWrite(Domain.STATE, symbol, "position", _encode(summary), ts_event=now))
        self._dirty_symbols.clear()
        if self._portfolio_dirty:
            self._portfolio_dirty = False
            durable = final or now - self._last_portfolio_row_ns >= self._pg_interval_ns
            if durable:
                self._last_portfolio_row_ns = now
            try:
                summary = portfolio_summary(self.cache, self.portfolio, now)
            except Exception as e:  # a view must never break the timer (and so the trading loop)
                self._report(f"PORTFOLIO not derived ({type(e).__name__}: {e})")
            else:
                batch.add(KeyWrite(Domain.PORTFOLIO, None, None, _encode(summary), durable=durable, ts_event=now))
        if not batch:
            return
        self._batch = Batch()
        self.writer.submit(batch)
        self.flushes += 1
