"""
What ``arb monitor`` reads and shows (SPEC: "Monitor CLI: tail logs, watch metrics, errors only, search").

- :meth:`LogMonitor.tail`: the environment's log stream in Redis (the last lines, then follows new ones);
- :meth:`LogMonitor.errors`: ERROR and above from PostgreSQL ``system_logs`` (all history), newest first;
- :meth:`LogMonitor.search`: a text search over ``system_logs`` (WARNING+, all history) and the stream
  (every level, the last 1000 records), merged by time;
- :func:`run_dashboard`: the session's ``METRICS`` keys as a terminal dashboard redrawn in place every
  second (cursor home + clear, no scrolling).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import TextIO

import msgspec

from arb_plugin.observability.keys import log_stream_key
from arb_plugin.observability.keys import metrics_key
from arb_plugin.observability.keys import metrics_pattern
from arb_plugin.observability.logging import LogLevel
from arb_plugin.observability.metrics import MetricsSnapshot


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One log record as the monitor shows it, from either store."""

    ts: datetime
    level: str
    category: str
    component: str
    message: str
    session_id: str
    origin: str  # "redis" | "postgres"


def entry_from_stream(fields: dict[str, str]) -> LogEntry:
    """A Redis Stream entry (fields written by ``RedisStreamBackend``)."""
    return LogEntry(
        ts=datetime.fromisoformat(fields["ts"]),
        level=fields.get("level", "?"),
        category=fields.get("category", "?"),
        component=fields.get("component", "?"),
        message=fields.get("message", ""),
        session_id=fields.get("session_id", ""),
        origin="redis",
    )


def entry_from_row(row: Any) -> LogEntry:
    """A ``system_logs`` row (columns of migration 0001)."""
    return LogEntry(
        ts=row["created_at"],
        level=row["level"],
        category=row["category"],
        component=row["logger"] or "",
        message=row["message"],
        session_id=row["session_id"] or "",
        origin="postgres",
    )


_COLORS = {"DEBUG": "\x1b[2m", "INFO": "", "WARNING": "\x1b[33m", "ERROR": "\x1b[31m", "CRITICAL": "\x1b[1;31m"}


def format_entry(entry: LogEntry, color: bool = False) -> str:
    """``2026-01-01T00:00:00.000000+00:00 WARNING  [RISK] ArbRiskGate: message``."""
    line = (
        f"{entry.ts.astimezone(UTC).isoformat(timespec='microseconds')} {entry.level:<8} "
        f"[{entry.category}] {entry.component}: {entry.message}"
    )
    if color and _COLORS.get(entry.level):
        return f"{_COLORS[entry.level]}{line}\x1b[0m"
    return line


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which records to show."""

    session_id: str | None = None
    min_level: LogLevel = LogLevel.DEBUG
    category: str | None = None

    def __call__(self, entry: LogEntry) -> bool:
        if self.session_id is not None and entry.session_id != self.session_id:
            return False
        if self.category is not None and entry.category != self.category:
            return False
        try:
            return LogLevel.parse(entry.level) >= self.min_level
        except ValueError:
            return True


class LogMonitor:
    """
    Read logs and metrics of one environment.

    Parameters
    ----------
    redis_url : str
        The Redis holding the log stream and the ``METRICS`` keys.
    env : str
        The environment's short name (``dev``, ``stg``, ``prod``): the stream key's env part.
    postgres_dsn : str, optional
        Where ``system_logs`` lives (``None``: errors and search use the stream only).
    postgres_schema : str
        The schema of ``system_logs``.
    """

    def __init__(
        self,
        redis_url: str,
        env: str,
        postgres_dsn: str | None = None,
        postgres_schema: str = "public",
    ) -> None:
        import redis

        # Typed Any: redis-py's sync client is typed as returning ``Awaitable | Any`` for every command.
        self._redis: Any = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5,
                                                socket_connect_timeout=2)
        self.env = env
        self.stream_key = log_stream_key(env)
        self._dsn = postgres_dsn
        self._schema = postgres_schema

    def close(self) -> None:
        self._redis.close()

    # -- logs ----------------------------------------------------------------------------------------

    def recent(self, count: int = 1000, keep: LogFilter | None = None) -> list[LogEntry]:
        """The last ``count`` stream records (oldest first), filtered."""
        entries = [entry_from_stream(f) for _, f in reversed(self._redis.xrevrange(self.stream_key, count=count))]
        return [e for e in entries if keep is None or keep(e)]

    def tail(
        self,
        lines: int = 20,
        follow: bool = True,
        keep: LogFilter | None = None,
        block_ms: int = 1000,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[LogEntry]:
        """The last ``lines`` matching records, then (``follow``) each new one as it is appended."""
        keep = keep or LogFilter()
        last_id = "0-0"
        backlog = self._redis.xrevrange(self.stream_key, count=max(lines * 20, 200))
        if backlog:
            last_id = backlog[0][0]
        shown = [e for e in (entry_from_stream(f) for _, f in reversed(backlog)) if keep(e)]
        yield from shown[-lines:] if lines else []
        if not backlog:
            last_id = "$"
        while follow and not should_stop():
            reply = self._redis.xread({self.stream_key: last_id}, block=block_ms, count=500)
            for _, items in reply or ():
                for entry_id, fields in items:
                    last_id = entry_id
                    entry = entry_from_stream(fields)
                    if keep(entry):
                        yield entry

    def _pg(self, sql: str, *args: Any) -> list[Any]:
        import asyncpg

        async def fetch() -> list[Any]:
            conn = await asyncpg.connect(self._dsn, timeout=5, server_settings={"search_path": self._schema})
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()

        return asyncio.run(fetch())

    def errors(self, limit: int = 50, since: datetime | None = None, session_id: str | None = None) -> list[LogEntry]:
        """ERROR and above, newest first: from ``system_logs``, or the stream when no DSN is set."""
        if self._dsn is None:
            keep = LogFilter(session_id=session_id, min_level=LogLevel.ERROR)
            found = [e for e in self.recent(keep=keep) if since is None or e.ts >= since]
            return list(reversed(found))[:limit]
        rows = self._pg(
            "SELECT * FROM system_logs WHERE level IN ('ERROR', 'CRITICAL')"
            " AND ($1::timestamptz IS NULL OR created_at >= $1) AND ($2::text IS NULL OR session_id = $2)"
            " ORDER BY created_at DESC, id DESC LIMIT $3",
            since, session_id, limit,
        )
        return [entry_from_row(r) for r in rows]

    def search(self, text: str, limit: int = 100, session_id: str | None = None) -> list[LogEntry]:
        """Records whose message or component contains ``text`` (case-insensitive), newest first."""
        needle = text.lower()
        keep = LogFilter(session_id=session_id)
        found = [
            e for e in self.recent(keep=keep) if needle in e.message.lower() or needle in e.component.lower()
        ]
        if self._dsn is not None:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self._pg(
                "SELECT * FROM system_logs WHERE (message ILIKE $1 OR logger ILIKE $1)"
                " AND ($2::text IS NULL OR session_id = $2) ORDER BY created_at DESC, id DESC LIMIT $3",
                pattern, session_id, limit,
            )
            seen = {(e.ts, e.message) for e in found}
            found += [e for e in map(entry_from_row, rows) if (e.ts, e.message) not in seen]
        found.sort(key=lambda e: e.ts, reverse=True)
        return found[:limit]

    # -- metrics -------------------------------------------------------------------------------------

    def latest_session(self) -> str | None:
        """The session of the newest record in the log stream (the one running now, or the last one)."""
        last = self._redis.xrevrange(self.stream_key, count=1)
        return last[0][1].get("session_id") if last else None

    def metrics(self, session_id: str) -> tuple[MetricsSnapshot | None, dict[str, MetricsSnapshot]]:
        """The session's portfolio ``METRICS`` and per-symbol ones (``None`` when expired or absent)."""
        base = metrics_key(self.env, session_id)
        keys = [base, *sorted(self._redis.scan_iter(match=metrics_pattern(self.env, session_id), count=500))]
        values = self._redis.mget(keys)
        decoded: dict[str, MetricsSnapshot] = {}
        for key, raw in zip(keys, values, strict=True):
            if raw is not None:
                try:
                    decoded[key] = msgspec.json.decode(raw, type=MetricsSnapshot)
                except msgspec.DecodeError:
                    continue
        portfolio = decoded.pop(base, None)
        return portfolio, {key.rsplit(":", 1)[1]: snap for key, snap in decoded.items()}


# -- the dashboard ----------------------------------------------------------------------------------

def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.2f}{unit}"


def render_dashboard(
    session_id: str | None,
    portfolio: MetricsSnapshot | None,
    per_symbol: dict[str, MetricsSnapshot],
    now: datetime,
    env: str,
) -> str:
    """One frame of the metrics dashboard (plain text)."""
    head = f"arb monitor --metrics   env={env}   session={session_id or '-'}   {now:%Y-%m-%d %H:%M:%S} UTC"
    lines = [head, "=" * len(head)]
    if portfolio is None:
        lines.append("no METRICS for this session (not running, or the keys expired after 120 s)")
        return "\n".join(lines) + "\n"
    age = max(0.0, now.timestamp() - portfolio.ts / 1e9)
    lines += [
        f"window {portfolio.window_secs} s, flushed {age:.1f} s ago",
        "",
        f"  trades / min            {_fmt(portfolio.trades_per_minute):>14}",
        f"  errors / min            {_fmt(portfolio.errors_per_minute):>14}",
        f"  guard triggers / min    {_fmt(portfolio.guard_triggers_per_minute):>14}",
        f"  avg ws latency          {_fmt(portfolio.avg_ws_latency_ms, ' ms'):>14}",
        f"  avg loop latency        {_fmt(portfolio.avg_loop_latency_ms, ' ms'):>14}",
        f"  pnl change (1 min)      {portfolio.pnl_change_1min:>10} KRW",
        f"  quotes / min            {_fmt(portfolio.quotes_per_minute):>14}",
    ]
    if portfolio.quotes_per_minute_by_venue:
        lines.append("  quotes / min by venue: " + ", ".join(
            f"{venue} {value:,.0f}" for venue, value in portfolio.quotes_per_minute_by_venue.items()
        ))
    if portfolio.ws_latency_ms_by_venue:
        lines.append("")
        lines.append("  ws latency by venue: " + ", ".join(
            f"{venue} {value:.2f} ms" for venue, value in portfolio.ws_latency_ms_by_venue.items()
        ))
    if per_symbol:
        lines += ["", f"  {'symbol':<12}{'trades/min':>12}{'loop ms':>12}{'pnl 1 min KRW':>18}"]
        for symbol, snap in sorted(per_symbol.items()):
            lines.append(
                f"  {symbol:<12}{_fmt(snap.trades_per_minute):>12}{_fmt(snap.avg_loop_latency_ms):>12}"
                f"{snap.pnl_change_1min:>18}",
            )
    return "\n".join(lines) + "\n"


CURSOR_HOME_CLEAR = "\x1b[H\x1b[J"  # redraw in place: cursor to the top-left, clear to the end


def run_dashboard(
    monitor: LogMonitor,
    session_id: str | None,
    out: TextIO,
    interval_s: float = 1.0,
    iterations: int | None = None,
) -> int:
    """Redraw the dashboard every ``interval_s`` (``iterations`` times, or until interrupted)."""
    drawn = 0
    while iterations is None or drawn < iterations:
        session = session_id or monitor.latest_session()
        portfolio, per_symbol = monitor.metrics(session) if session else (None, {})
        frame = render_dashboard(session, portfolio, per_symbol, datetime.now(UTC), monitor.env)
        out.write(CURSOR_HOME_CLEAR + frame)
        out.flush()
        drawn += 1
        if iterations is None or drawn < iterations:
            time.sleep(interval_s)
    return drawn
