"""
Rolling metrics over a 60 s window (SPEC "MetricsCollector"), flushed every second.

Figures (the SPEC's names):

- ``trades_per_minute``: fills in the window, per minute;
- ``errors_per_minute``: ERROR-and-above log records in the window, per minute;
- ``avg_ws_latency_ms``: mean of quote ``ts_init - ts_event`` (exchange time to receipt), also per venue;
  quotes that carry no exchange time (Binance ``bookTicker``: ``ts_event == ts_init``) are counted in
  ``quotes_per_minute`` but not averaged as zero latency;
- ``avg_loop_latency_ms``: mean time from a quote's receipt (``ts_init``) to the strategy's decision
  (``DecisionLatency`` on ``DECISION_TOPIC``);
- ``guard_triggers_per_minute``: the risk guard's actions (``GuardTriggered`` on ``GUARD_TRIGGER_TOPIC``:
  denials, halts, day blocks, cooldowns; not the ``resume`` that lifts a halt), in the window, per minute;
- ``pnl_change_1min``: realised PnL in KRW of the pairs closed in the window (exact decimal string).

:class:`RollingMetrics` is pure (time is passed in): one bucket per second in a ring, so recording is O(1)
and allocates nothing. :class:`MetricsCollector` is the NautilusTrader actor that feeds it from the message
bus and flushes a :class:`MetricsSnapshot` every second to a :class:`MetricsSink` (Redis ``METRICS`` keys,
TTL 120 s, one pipeline) off the trading loop's critical path. :func:`render_prometheus` gives the same
figures in Prometheus text format for ``/metrics``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from typing import Protocol

import msgspec
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.enums import LogColor
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.events import OrderFilled

from arb_plugin.events import DECISION_TOPIC
from arb_plugin.events import GUARD_TRIGGER_TOPIC
from arb_plugin.events import PAIR_CLOSED_TOPIC
from arb_plugin.events import DecisionLatency
from arb_plugin.events import GuardTriggered
from arb_plugin.events import PairClosed
from arb_plugin.events import parse_order_tags
from arb_plugin.observability.keys import metrics_key
from arb_plugin.timers import on_loop

NANOS_PER_SEC = 1_000_000_000
METRICS_TTL_SECS = 120  # SPEC: METRICS domain TTL


class MetricsSnapshot(msgspec.Struct, frozen=True):
    """The figures of one window, as flushed to Redis and served at ``/metrics``."""

    ts: int  # UNIX ns of the flush
    window_secs: int
    trades_per_minute: float
    errors_per_minute: float
    avg_ws_latency_ms: float | None
    avg_loop_latency_ms: float | None
    guard_triggers_per_minute: float
    pnl_change_1min: str  # KRW, exact
    ws_latency_ms_by_venue: dict[str, float] = {}
    quotes_per_minute: float = 0.0
    quotes_per_minute_by_venue: dict[str, float] = {}

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)


class _Means:
    """Per-venue quote counts and latency sums over the ring."""

    __slots__ = ("counts", "quotes", "sums")

    def __init__(self, size: int) -> None:
        self.sums: list[dict[str, int]] = [{} for _ in range(size)]
        self.counts: list[dict[str, int]] = [{} for _ in range(size)]
        self.quotes: list[dict[str, int]] = [{} for _ in range(size)]


class RollingMetrics:
    """
    Counters, sums and PnL in one-second buckets over a sliding window.

    Every ``record_*`` method takes the event's time in UNIX ns; :meth:`snapshot` reports the window
    ending at the given time. Buckets older than the window are reset lazily when their slot is reused.
    """

    def __init__(self, window_secs: int = 60) -> None:
        if window_secs <= 0:
            raise ValueError(f"window_secs={window_secs}: must be > 0")
        self.window_secs = window_secs
        n = window_secs
        self._sec = [-1] * n
        self._trades = [0] * n
        self._errors = [0] * n
        self._guards = [0] * n
        self._quotes = [0] * n
        self._ws_sum = [0] * n
        self._ws_n = [0] * n
        self._loop_sum = [0] * n
        self._loop_n = [0] * n
        self._pnl = [Decimal(0)] * n
        self._venues = _Means(n)

    def _slot(self, ts_ns: int) -> int:
        sec = ts_ns // NANOS_PER_SEC
        i = sec % self.window_secs
        if self._sec[i] != sec:
            self._sec[i] = sec
            self._trades[i] = self._errors[i] = self._guards[i] = self._quotes[i] = 0
            self._ws_sum[i] = self._ws_n[i] = self._loop_sum[i] = self._loop_n[i] = 0
            self._pnl[i] = Decimal(0)
            self._venues.sums[i].clear()
            self._venues.counts[i].clear()
            self._venues.quotes[i].clear()
        return i

    def record_trade(self, ts_ns: int, count: int = 1) -> None:
        self._trades[self._slot(ts_ns)] += count

    def record_errors(self, ts_ns: int, count: int = 1) -> None:
        if count:
            self._errors[self._slot(ts_ns)] += count

    def record_guard_trigger(self, ts_ns: int, count: int = 1) -> None:
        self._guards[self._slot(ts_ns)] += count

    def record_quote(self, ts_ns: int, venue: str) -> None:
        """A quote without an exchange timestamp (counted, no latency)."""
        i = self._slot(ts_ns)
        self._quotes[i] += 1
        quotes = self._venues.quotes[i]
        quotes[venue] = quotes.get(venue, 0) + 1

    def record_ws_latency(self, ts_ns: int, venue: str, latency_ns: int) -> None:
        i = self._slot(ts_ns)
        self._quotes[i] += 1
        quotes = self._venues.quotes[i]
        quotes[venue] = quotes.get(venue, 0) + 1
        self._ws_sum[i] += latency_ns
        self._ws_n[i] += 1
        sums = self._venues.sums[i]
        counts = self._venues.counts[i]
        sums[venue] = sums.get(venue, 0) + latency_ns
        counts[venue] = counts.get(venue, 0) + 1

    def record_loop_latency(self, ts_ns: int, latency_ns: int) -> None:
        i = self._slot(ts_ns)
        self._loop_sum[i] += latency_ns
        self._loop_n[i] += 1

    def record_pnl(self, ts_ns: int, pnl: Decimal) -> None:
        self._pnl[self._slot(ts_ns)] += pnl

    def snapshot(self, now_ns: int) -> MetricsSnapshot:
        """The figures for the window ``(now - window, now]``."""
        now_sec = now_ns // NANOS_PER_SEC
        oldest = now_sec - self.window_secs
        live = [i for i, sec in enumerate(self._sec) if oldest < sec <= now_sec]
        per_minute = 60.0 / self.window_secs
        ws_n = sum(self._ws_n[i] for i in live)
        loop_n = sum(self._loop_n[i] for i in live)
        venue_sums: dict[str, int] = {}
        venue_counts: dict[str, int] = {}
        venue_quotes: dict[str, int] = {}
        for i in live:
            for venue, n in self._venues.quotes[i].items():
                venue_quotes[venue] = venue_quotes.get(venue, 0) + n
            for venue, total in self._venues.sums[i].items():
                venue_sums[venue] = venue_sums.get(venue, 0) + total
                venue_counts[venue] = venue_counts.get(venue, 0) + self._venues.counts[i][venue]
        return MetricsSnapshot(
            ts=now_ns,
            window_secs=self.window_secs,
            trades_per_minute=sum(self._trades[i] for i in live) * per_minute,
            errors_per_minute=sum(self._errors[i] for i in live) * per_minute,
            avg_ws_latency_ms=sum(self._ws_sum[i] for i in live) / ws_n / 1e6 if ws_n else None,
            avg_loop_latency_ms=sum(self._loop_sum[i] for i in live) / loop_n / 1e6 if loop_n else None,
            guard_triggers_per_minute=sum(self._guards[i] for i in live) * per_minute,
            pnl_change_1min=str(sum((self._pnl[i] for i in live), Decimal(0))),
            ws_latency_ms_by_venue={v: venue_sums[v] / venue_counts[v] / 1e6 for v in sorted(venue_sums)},
            quotes_per_minute=sum(self._quotes[i] for i in live) * per_minute,
            quotes_per_minute_by_venue={v: venue_quotes[v] * per_minute for v in sorted(venue_quotes)},
        )


# -- Prometheus ----------------------------------------------------------------------------------------

_PROM_HELP = {
    "trades_per_minute": "Fills in the rolling window, per minute.",
    "errors_per_minute": "ERROR-and-above log records in the rolling window, per minute.",
    "avg_ws_latency_ms": "Mean exchange-timestamp-to-receipt latency of quotes in the window (ms).",
    "avg_loop_latency_ms": "Mean quote-receipt-to-decision latency of the strategy in the window (ms).",
    "guard_triggers_per_minute": "Guard denials and trading halts in the rolling window, per minute.",
    "pnl_change_1min": "Realised PnL (KRW) of the pairs closed in the rolling window.",
    "quotes_per_minute": "Quotes received in the rolling window, per minute.",
}


def _label_text(labels: dict[str, str]) -> str:
    escaped = (
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in sorted(labels.items())
    )
    return "{" + ",".join(escaped) + "}"


def render_prometheus(
    snapshot: MetricsSnapshot | None,
    labels: dict[str, str],
    per_symbol: dict[str, MetricsSnapshot] | None = None,
) -> str:
    """Prometheus text exposition (version 0.0.4) of a snapshot: one gauge per figure."""
    lines: list[str] = []
    if snapshot is None:
        return "# no metrics yet\n"
    scopes: list[tuple[dict[str, str], MetricsSnapshot]] = [(labels, snapshot)]
    for symbol, snap in sorted((per_symbol or {}).items()):
        scopes.append(({**labels, "symbol": symbol}, snap))
    for name, help_text in _PROM_HELP.items():
        metric = f"arb_{name}"
        lines.append(f"# HELP {metric} {help_text}")
        lines.append(f"# TYPE {metric} gauge")
        for scope_labels, snap in scopes:
            value = getattr(snap, name)
            if value is None:
                continue
            lines.append(f"{metric}{_label_text(scope_labels)} {value}")
    lines.append("# HELP arb_venue_quotes_per_minute Quotes received per venue in the rolling window, per minute.")
    lines.append("# TYPE arb_venue_quotes_per_minute gauge")
    for venue, value in snapshot.quotes_per_minute_by_venue.items():
        lines.append(f"arb_venue_quotes_per_minute{_label_text({**labels, 'venue': venue})} {value}")
    lines.append("# HELP arb_ws_latency_ms Mean quote latency per venue in the window (ms).")
    lines.append("# TYPE arb_ws_latency_ms gauge")
    for venue, value in snapshot.ws_latency_ms_by_venue.items():
        lines.append(f"arb_ws_latency_ms{_label_text({**labels, 'venue': venue})} {value}")
    return "\n".join(lines) + "\n"


# -- the sink ------------------------------------------------------------------------------------------


class MetricsSink(Protocol):
    """Where a flush goes: the whole-portfolio snapshot and one per symbol, in one batch."""

    async def publish(self, snapshot: MetricsSnapshot, per_symbol: dict[str, MetricsSnapshot]) -> None: ...

    async def close(self) -> None: ...


class RedisMetricsSink:
    """``SET`` the ``METRICS`` keys (portfolio and per symbol) with TTL 120 s in one pipeline."""

    def __init__(self, redis_url: str, env: str, session_id: str, ttl_secs: int = METRICS_TTL_SECS) -> None:
        import redis.asyncio as aioredis

        self._client = aioredis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        self._env = env
        self._session_id = session_id
        self._ttl = ttl_secs
        self._keys: dict[str | None, str] = {}

    def key(self, symbol: str | None = None) -> str:
        key = self._keys.get(symbol)
        if key is None:
            key = self._keys[symbol] = metrics_key(self._env, self._session_id, symbol)
        return key

    async def publish(self, snapshot: MetricsSnapshot, per_symbol: dict[str, MetricsSnapshot]) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.set(self.key(None), snapshot.to_json(), ex=self._ttl)
        for symbol, snap in per_symbol.items():
            pipe.set(self.key(symbol), snap.to_json(), ex=self._ttl)
        await pipe.execute()

    async def close(self) -> None:
        await self._client.aclose()


# -- the actor -----------------------------------------------------------------------------------------


class MetricsCollectorConfig(ActorConfig, frozen=True):
    """
    Configuration of :class:`MetricsCollector`.

    Parameters
    ----------
    window_secs : int
        The rolling window (SPEC: 60 s).
    flush_interval_ms : int
        How often the snapshot is computed and flushed (SPEC: every second).
    """

    window_secs: int = 60
    flush_interval_ms: int = 1000


QUOTES_TOPIC = "data.quotes.*"


class MetricsCollector(Actor):
    """
    Feed :class:`RollingMetrics` from the message bus and flush it every second.

    Subscribes (passively, without asking any client for data) to quotes (``data.quotes.*``), fills
    (``events.fills.*``), the risk guard's actions (``GUARD_TRIGGER_TOPIC``), the strategy's decisions
    (``DECISION_TOPIC``) and closed pairs (``PAIR_CLOSED_TOPIC``). Error counts come from the
    :class:`LoggingManager` bound with :meth:`bind`, which also gives the sink; without a sink the snapshot
    is only kept in memory (``latest``).
    """

    FLUSH_TIMER = "arb-metrics-flush"

    def __init__(self, config: MetricsCollectorConfig | None = None) -> None:
        super().__init__(config or MetricsCollectorConfig())
        cfg: MetricsCollectorConfig = self.config
        self._window_secs = cfg.window_secs
        self._flush_ns = cfg.flush_interval_ms * 1_000_000
        self.metrics = RollingMetrics(cfg.window_secs)
        self._by_symbol: dict[str, RollingMetrics] = {}
        self._sink: MetricsSink | None = None
        self._error_count: Callable[[], int] | None = None
        self._errors_seen = 0
        self._inflight: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.latest: MetricsSnapshot | None = None
        self.latest_by_symbol: dict[str, MetricsSnapshot] = {}
        self.flushes = 0
        self.flush_failures = 0
        self.skipped_flushes = 0

    def bind(self, sink: MetricsSink | None = None, error_count: Callable[[], int] | None = None) -> None:
        """Give the flush target and the error counter (call after the node is built, before it runs)."""
        self._sink = sink
        self._error_count = error_count
        self._errors_seen = error_count() if error_count else 0

    # -- lifecycle ----------------------------------------------------------------------------------

    def on_start(self) -> None:
        try:  # live: the node's loop (backtest: none, everything runs inline on simulated time)
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        # Actors start before strategies, so this subscription comes before theirs (same priority 0; the bus
        # calls equal priorities in subscription order). On the first quote it moves behind them: from then on
        # counting a quote does not delay the decision taken on it (the bus has no priority below 0).
        self.msgbus.subscribe(QUOTES_TOPIC, self._on_first_quote)
        self.msgbus.subscribe("events.fills.*", self._on_fill)
        self.msgbus.subscribe(GUARD_TRIGGER_TOPIC, self._on_guard_triggered)
        self.msgbus.subscribe(DECISION_TOPIC, self._on_decision)
        self.msgbus.subscribe(PAIR_CLOSED_TOPIC, self._on_pair_closed)
        # on the node's loop, where the bus handlers touch the window (arb_plugin.timers)
        self.clock.set_timer_ns(self.FLUSH_TIMER, self._flush_ns, 0, 0, on_loop(self._on_flush))
        self.log.info(f"Metrics: {self._window_secs} s window, flush every {self._flush_ns / 1e9:g} s",
                      LogColor.BLUE)

    def on_stop(self) -> None:
        if self.FLUSH_TIMER in self.clock.timer_names:
            self.clock.cancel_timer(self.FLUSH_TIMER)
        for topic, handler in (
            (QUOTES_TOPIC, self._on_first_quote),
            (QUOTES_TOPIC, self._on_quote),
            ("events.fills.*", self._on_fill),
            (GUARD_TRIGGER_TOPIC, self._on_guard_triggered),
            (DECISION_TOPIC, self._on_decision),
            (PAIR_CLOSED_TOPIC, self._on_pair_closed),
        ):
            if self.msgbus.is_subscribed(topic, handler):
                self.msgbus.unsubscribe(topic, handler)
        self._flush(self.clock.timestamp_ns())

    # -- handlers (hot path: no I/O) ---------------------------------------------------------------

    def _symbol_metrics(self, symbol: str) -> RollingMetrics:
        metrics = self._by_symbol.get(symbol)
        if metrics is None:
            metrics = self._by_symbol[symbol] = RollingMetrics(self._window_secs)
        return metrics

    def _on_first_quote(self, quote: QuoteTick) -> None:
        self.msgbus.unsubscribe(QUOTES_TOPIC, self._on_first_quote)
        self.msgbus.subscribe(QUOTES_TOPIC, self._on_quote)  # behind every subscriber there is by now
        self._on_quote(quote)

    def _on_quote(self, quote: QuoteTick) -> None:
        if quote.ts_event == quote.ts_init:  # the venue sent no timestamp (Binance bookTicker): no latency
            self.metrics.record_quote(quote.ts_init, quote.instrument_id.venue.value)
        else:
            self.metrics.record_ws_latency(
                quote.ts_init, quote.instrument_id.venue.value, quote.ts_init - quote.ts_event,
            )

    def _on_fill(self, fill: OrderFilled) -> None:
        self.metrics.record_trade(fill.ts_init)
        order = self.cache.order(fill.client_order_id)
        _, symbol = parse_order_tags(order.tags if order is not None else None)
        if symbol is not None:
            self._symbol_metrics(symbol).record_trade(fill.ts_init)

    def _on_guard_triggered(self, event: GuardTriggered) -> None:
        if event.action != "resume":
            self.metrics.record_guard_trigger(event.ts_event)
            if event.symbol is not None:
                self._symbol_metrics(event.symbol).record_guard_trigger(event.ts_event)

    def _on_decision(self, sample: DecisionLatency) -> None:
        self.metrics.record_loop_latency(sample.ts_event, sample.latency_ns)
        self._symbol_metrics(sample.symbol).record_loop_latency(sample.ts_event, sample.latency_ns)

    def _on_pair_closed(self, closed: PairClosed) -> None:
        pnl = Decimal(closed.pnl_krw)
        self.metrics.record_pnl(closed.ts_event, pnl)
        self._symbol_metrics(closed.symbol).record_pnl(closed.ts_event, pnl)

    # -- flush -------------------------------------------------------------------------------------

    def _on_flush(self, event: Any) -> None:
        self._flush(event.ts_event)

    def _flush(self, now_ns: int) -> None:
        if self._error_count is not None:
            total = self._error_count()
            self.metrics.record_errors(now_ns, total - self._errors_seen)
            self._errors_seen = total
        self.latest = self.metrics.snapshot(now_ns)
        self.latest_by_symbol = {s: m.snapshot(now_ns) for s, m in self._by_symbol.items()}
        if self._sink is None:
            return
        if self._inflight is not None and not self._inflight.done():
            self.skipped_flushes += 1  # the previous batch is still on the wire: never queue behind it
            return
        if self._loop is None or self._loop.is_closed():
            return  # no loop (backtest): the snapshot stays in memory
        self._inflight = self._loop.create_task(self._publish(self.latest, self.latest_by_symbol))

    async def _publish(self, snapshot: MetricsSnapshot, per_symbol: dict[str, MetricsSnapshot]) -> None:
        assert self._sink is not None
        try:
            await self._sink.publish(snapshot, per_symbol)
            self.flushes += 1
        except Exception as e:
            self.flush_failures += 1
            if self.flush_failures == 1 or self.flush_failures % 60 == 0:
                self.log.warning(f"Metrics flush failed ({self.flush_failures}x): {type(e).__name__}: {e}")

    async def close_sink(self) -> None:
        """Wait for the last flush and close the sink."""
        if self._inflight is not None:
            await asyncio.gather(self._inflight, return_exceptions=True)
        if self._sink is not None:
            await self._sink.close()
