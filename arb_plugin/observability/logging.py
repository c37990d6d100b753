"""
One logging manager, four backends (SPEC "Logging and monitoring").

Every record has a level, one of ten categories, a component and a message, and goes to:

- a file, ``{log_dir}/arbitrage_{env}.log``, one JSON object per line;
- the console (human-readable);
- a Redis Stream per environment (``XADD ... MAXLEN 1000``, entries name their session), which
  ``arb monitor --tail`` follows;
- the PostgreSQL table ``system_logs``, WARNING and above, in batches (``COPY``).

Which backends run and from which level is the SPEC's table, per environment (:data:`LOG_POLICIES`).

NautilusTrader's own log lines (engines, clients, strategies, its Rust network layer) are *routed* through
the same pipeline by :class:`arb_plugin.observability.nautilus_logs.NautilusLogRouter`, not printed a
second time. Secret values (API keys, DSN passwords) and secret-looking ``key=value`` pairs are replaced by
``***`` before a record reaches any backend.

Threading: :meth:`LoggingManager.log` only filters by level and enqueues (no I/O, no formatting), so it may
be called from the trading loop. One writer thread formats, redacts and writes every batch; Redis and
PostgreSQL outages are reported on stderr and never stop the writer or the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging as std_logging
import queue
import re
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from enum import IntEnum
from enum import StrEnum
from pathlib import Path
from typing import Any
from typing import Protocol
from typing import TextIO

import msgspec

from arb_plugin.observability.keys import log_stream_key
from arb_plugin.settings import Environment


class LogCategory(StrEnum):
    """What a record is about (SPEC: the ten categories)."""

    ENGINE = "ENGINE"
    TRADE = "TRADE"
    GUARD = "GUARD"
    RISK = "RISK"
    EXCHANGE = "EXCHANGE"
    POSITION = "POSITION"
    SYNC = "SYNC"
    WEBSOCKET = "WEBSOCKET"
    METRICS = "METRICS"
    SYSTEM = "SYSTEM"


class LogLevel(IntEnum):
    """Severity, ordered (same numbers as the standard library's levels)."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50

    @classmethod
    def parse(cls, name: str) -> LogLevel:
        """Parse a level name, accepting NautilusTrader's ``WARN`` and any case."""
        key = name.strip().upper()
        if key == "WARN":
            key = "WARNING"
        try:
            return cls[key]
        except KeyError:
            allowed = ", ".join(m.name for m in cls)
            raise ValueError(f"log level {name!r}: must be one of {allowed}") from None


@dataclass(frozen=True, slots=True)
class LogPolicy:
    """Minimum level and backends for one environment."""

    min_level: LogLevel
    file: bool
    console: bool
    redis: bool
    postgres_min_level: LogLevel


LOG_POLICIES: Mapping[Environment, LogPolicy] = {
    Environment.DEVELOPMENT: LogPolicy(LogLevel.DEBUG, file=True, console=True, redis=True,
                                       postgres_min_level=LogLevel.WARNING),
    Environment.STAGING: LogPolicy(LogLevel.INFO, file=True, console=True, redis=True,
                                   postgres_min_level=LogLevel.WARNING),
    Environment.PRODUCTION: LogPolicy(LogLevel.WARNING, file=True, console=False, redis=True,
                                      postgres_min_level=LogLevel.WARNING),
}
"""The SPEC's table: env -> min level, file, console, redis, postgres (WARNING+)."""


SOURCE_ARB = "arb"  # our own code through LoggingManager.log
SOURCE_NAUTILUS = "nautilus"  # NautilusTrader's logger, routed in
SOURCE_PYTHON = "python"  # the standard library's logging (third-party libraries)


class LogRecord(msgspec.Struct, frozen=True):
    """One structured log record as every backend sees it (already redacted)."""

    ts_ns: int
    level: LogLevel
    category: LogCategory
    component: str
    message: str
    source: str = SOURCE_ARB
    context: dict[str, str] | None = None

    @property
    def timestamp(self) -> str:
        """ISO 8601 UTC with microseconds."""
        return datetime.fromtimestamp(self.ts_ns / 1e9, tz=UTC).isoformat(timespec="microseconds")


class LogDocument(msgspec.Struct, frozen=True, omit_defaults=True):
    """The JSON line written to the file and mirrored, field by field, in the Redis Stream."""

    ts: str
    level: str
    category: str
    component: str
    message: str
    source: str
    env: str
    session_id: str
    context: dict[str, str] | None = None


# -- redaction -----------------------------------------------------------------------------------------

REDACTED = "***"

_SECRET_PAIR = re.compile(
    r"(?i)\b((?:api[_-]?key|api[_-]?secret|secret[_-]?key|access[_-]?key|secret|password|passwd|token"
    r"|signature|authorization|x-mbx-apikey)\b[\"']?\s*[=:]\s*[\"']?)(?:bearer\s+)?([^\s\"',;&}]+)",
)
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@\s]+)(@)")


class Redactor:
    """
    Replace secrets in log text.

    Known secret values (from :class:`arb_plugin.settings.Secrets`) are replaced wherever they appear;
    ``api_key=...``-style pairs, bearer tokens, JWTs and URL passwords are masked whatever their value.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._values = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        if "=" in text or ":" in text or "eyJ" in text or "earer" in text:
            text = _URL_PASSWORD.sub(rf"\1{REDACTED}\3", text)
            text = _SECRET_PAIR.sub(rf"\1{REDACTED}", text)
            text = _BEARER.sub(f"Bearer {REDACTED}", text)
            text = _JWT.sub(REDACTED, text)
        return text


# -- backends ------------------------------------------------------------------------------------------


class LogBackend(Protocol):
    """Where records go; called only from the writer thread."""

    name: str
    min_level: LogLevel

    def write(self, records: list[LogRecord]) -> None: ...

    def flush(self, force: bool = False) -> None: ...

    def close(self) -> None: ...


class _Encoder:
    def __init__(self, env: str, session_id: str) -> None:
        self.env = env
        self.session_id = session_id
        self._encoder = msgspec.json.Encoder()

    def document(self, record: LogRecord) -> LogDocument:
        return LogDocument(
            ts=record.timestamp,
            level=record.level.name,
            category=record.category.value,
            component=record.component,
            message=record.message,
            source=record.source,
            env=self.env,
            session_id=self.session_id,
            context=record.context,
        )

    def line(self, record: LogRecord) -> bytes:
        return self._encoder.encode(self.document(record)) + b"\n"


class FileBackend:
    """``{log_dir}/arbitrage_{env}.log``: JSON lines, appended, flushed after every batch."""

    name = "file"

    def __init__(self, path: Path, encoder: _Encoder, min_level: LogLevel) -> None:
        self.path = path
        self.min_level = min_level
        self._encoder = encoder
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("ab")

    def write(self, records: list[LogRecord]) -> None:
        self._fh.write(b"".join(self._encoder.line(r) for r in records))

    def flush(self, force: bool = False) -> None:
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class ConsoleBackend:
    """Human-readable lines on the console (stdout)."""

    name = "console"

    def __init__(self, stream: TextIO, min_level: LogLevel) -> None:
        self.min_level = min_level
        self._stream = stream

    def write(self, records: list[LogRecord]) -> None:
        lines = [
            f"{r.timestamp} {r.level.name:<8} [{r.category.value}] {r.component}: {r.message}\n"
            for r in records
        ]
        if lines:
            self._stream.write("".join(lines))

    def flush(self, force: bool = False) -> None:
        self._stream.flush()

    def close(self) -> None:
        self.flush()


class RedisStreamBackend:
    """``XADD`` every record to the session's stream, capped at ``maxlen`` entries, one pipeline per batch."""

    name = "redis"

    def __init__(self, redis_url: str, key: str, maxlen: int, encoder: _Encoder, min_level: LogLevel) -> None:
        import redis

        self.key = key
        self.maxlen = maxlen
        self.min_level = min_level
        self._encoder = encoder
        self._client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._errors = _ErrorReporter(self.name)

    def write(self, records: list[LogRecord]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for record in records:
            doc: dict[str, Any] = msgspec.structs.asdict(self._encoder.document(record))
            if doc["context"] is None:
                del doc["context"]
            else:
                doc["context"] = msgspec.json.encode(doc["context"]).decode()
            pipe.xadd(self.key, doc, maxlen=self.maxlen, approximate=False)  # type: ignore[arg-type]
        try:
            pipe.execute()
            self._errors.recovered()
        except Exception as e:  # Redis down: drop this batch, say so once, keep going
            self._errors.report(e, dropped=len(records))

    def flush(self, force: bool = False) -> None:
        return None

    def close(self) -> None:
        self._client.close()


SYSTEM_LOG_COLUMNS = ("session_id", "created_at", "level", "category", "logger", "message", "data")
"""Columns of ``system_logs`` (migration 0001) written per record; ``logger`` is the component."""


class PostgresBackend:
    """
    ``system_logs`` rows for WARNING and above, buffered and written with ``COPY`` in batches.

    Runs its own event loop inside the writer thread (asyncpg is async-only), so the trading loop is never
    involved. Rows wait in the buffer while PostgreSQL is unreachable, up to ``10 x batch_size``; past
    that the oldest are dropped and counted.
    """

    name = "postgres"

    def __init__(
        self,
        dsn: str,
        session_id: str,
        min_level: LogLevel,
        batch_size: int,
        flush_ms: int,
        server_settings: dict[str, str] | None = None,
        table: str = "system_logs",
    ) -> None:
        self.min_level = min_level
        self.session_id = session_id
        self.table = table
        self._dsn = dsn
        self._server_settings = server_settings
        self._batch_size = batch_size
        self._flush_ns = flush_ms * 1_000_000
        self._rows: list[tuple[Any, ...]] = []
        self._last_flush = time.monotonic_ns()
        self._loop = asyncio.new_event_loop()
        self._conn: Any = None
        self._errors = _ErrorReporter(self.name)
        self.dropped = 0

    def write(self, records: list[LogRecord]) -> None:
        for r in records:
            context = msgspec.json.encode(r.context).decode() if r.context else None
            created = datetime.fromtimestamp(r.ts_ns / 1e9, tz=UTC)
            self._rows.append(
                (self.session_id, created, r.level.name, r.category.value, r.component, r.message, context),
            )
        if len(self._rows) >= self._batch_size:
            self.flush(force=True)

    def flush(self, force: bool = False) -> None:
        if not self._rows:
            return
        if not force and time.monotonic_ns() - self._last_flush < self._flush_ns:
            return
        self._last_flush = time.monotonic_ns()
        try:
            self._loop.run_until_complete(self._copy(self._rows))
            self._rows = []
            self._errors.recovered()
        except Exception as e:
            self._conn = None
            cap = 10 * self._batch_size
            if len(self._rows) > cap:
                self.dropped += len(self._rows) - cap
                del self._rows[: len(self._rows) - cap]
            self._errors.report(e, dropped=0)

    async def _copy(self, rows: list[tuple[Any, ...]]) -> None:
        import asyncpg

        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._dsn, timeout=2, server_settings=self._server_settings)
        await self._conn.copy_records_to_table(self.table, records=rows, columns=list(SYSTEM_LOG_COLUMNS))

    def close(self) -> None:
        self.flush(force=True)
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection: nothing left to save
                self._loop.run_until_complete(self._conn.close(timeout=2))
        self._loop.close()


class _ErrorReporter:
    """Report a backend outage once on stderr (not through the failing pipeline), and its recovery."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._failing = False
        self.dropped = 0

    def report(self, error: Exception, dropped: int) -> None:
        self.dropped += dropped
        if not self._failing:
            self._failing = True
            print(f"arb logging: {self._name} backend failing: {type(error).__name__}: {error}",
                  file=sys.stderr)

    def recovered(self) -> None:
        if self._failing:
            self._failing = False
            print(f"arb logging: {self._name} backend recovered ({self.dropped} records dropped)",
                  file=sys.stderr)


# -- the manager ---------------------------------------------------------------------------------------

_QueueItem = tuple[int, LogLevel, LogCategory, str, str, str, "dict[str, Any] | None"]
_STOP = object()


@dataclass(frozen=True, slots=True)
class LoggingTargets:
    """Where the backends write (the node builder fills this from settings)."""

    log_dir: Path
    redis_url: str | None = None
    postgres_dsn: str | None = None
    postgres_server_settings: dict[str, str] | None = None
    stream_maxlen: int = 1000
    stream_env: str | None = None  # the env part of the stream key (default: the environment's short name)
    pg_batch_size: int = 500
    pg_flush_ms: int = 1000


class LoggingManager:
    """
    The one place log records are produced, redacted and written.

    Parameters
    ----------
    env : Environment
        Chooses the policy (levels and backends) from :data:`LOG_POLICIES`.
    session_id : str
        Stamped on every record; names the Redis Stream.
    targets : LoggingTargets
        File folder, Redis URL and PostgreSQL DSN (``None`` leaves that backend out).
    secrets : Iterable[str]
        Secret values to redact wherever they appear.
    console : TextIO, optional
        The console stream (default ``sys.stdout``).
    """

    def __init__(
        self,
        env: Environment,
        session_id: str,
        targets: LoggingTargets,
        secrets: Iterable[str] = (),
        console: TextIO | None = None,
    ) -> None:
        self.env = env
        self.session_id = session_id
        self.policy = LOG_POLICIES[env]
        self.min_level = self.policy.min_level
        self.redact = Redactor(secrets)
        self.file_path = targets.log_dir / f"arbitrage_{env.value}.log"
        self.stream_key = log_stream_key(targets.stream_env or env.short)
        self._targets = targets
        self._console = console if console is not None else sys.stdout
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._backends: list[LogBackend] = []
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[LogRecord], None]] = []
        self._flush_event = threading.Event()
        self._flushed = threading.Event()
        self.counts: dict[LogLevel, int] = dict.fromkeys(LogLevel, 0)

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> LoggingManager:
        """Open the backends the policy asks for and start the writer thread."""
        if self._thread is not None:
            return self
        encoder = _Encoder(self.env.value, self.session_id)
        policy = self.policy
        if policy.file:
            self._backends.append(FileBackend(self.file_path, encoder, policy.min_level))
        if policy.console:
            self._backends.append(ConsoleBackend(self._console, policy.min_level))
        if policy.redis and self._targets.redis_url:
            self._backends.append(
                RedisStreamBackend(
                    self._targets.redis_url, self.stream_key, self._targets.stream_maxlen, encoder,
                    policy.min_level,
                ),
            )
        if self._targets.postgres_dsn:
            self._backends.append(
                PostgresBackend(
                    self._targets.postgres_dsn,
                    self.session_id,
                    max(policy.postgres_min_level, policy.min_level),
                    self._targets.pg_batch_size,
                    self._targets.pg_flush_ms,
                    self._targets.postgres_server_settings,
                ),
            )
        self._thread = threading.Thread(target=self._run, name="arb-log-writer", daemon=True)
        self._thread.start()
        return self

    @property
    def backend_names(self) -> list[str]:
        """Names of the backends in use (``file``, ``console``, ``redis``, ``postgres``)."""
        return [b.name for b in self._backends]

    def flush(self, timeout: float = 5.0) -> bool:
        """Block until everything logged so far is written (PostgreSQL included); ``False`` on timeout."""
        if self._thread is None:
            return True
        self._flushed.clear()
        self._queue.put(self._flush_event)
        return self._flushed.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, close every backend and stop the writer thread."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def error_count(self) -> int:
        """ERROR-and-above records logged so far (read by the metrics)."""
        return self.counts[LogLevel.ERROR] + self.counts[LogLevel.CRITICAL]

    def add_listener(self, listener: Callable[[LogRecord], None]) -> None:
        """Call ``listener`` with every record (writer thread, after redaction); must be quick."""
        self._listeners.append(listener)

    # -- producing records (any thread) -----------------------------------------------------------

    def log(
        self,
        level: LogLevel,
        category: LogCategory,
        message: str,
        component: str = "arb",
        context: Mapping[str, Any] | None = None,
        source: str = SOURCE_ARB,
        ts_ns: int | None = None,
    ) -> None:
        """Queue one record (no I/O here); dropped when below the environment's minimum level."""
        if level < self.min_level:
            return
        self.counts[level] += 1
        ctx = dict(context) if context else None
        self._queue.put((ts_ns or time.time_ns(), level, category, component, message, source, ctx))

    def get_logger(self, category: LogCategory, component: str) -> CategoryLogger:
        """A small logger bound to one category and component."""
        return CategoryLogger(self, category, component)

    def stdlib_handler(self, category: LogCategory = LogCategory.SYSTEM) -> std_logging.Handler:
        """A standard-library ``logging.Handler`` feeding this manager (for third-party libraries)."""
        return StdlibBridge(self, category)

    # -- writer thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            items: list[Any] = []
            try:
                items.append(self._queue.get(timeout=0.1))
                while len(items) < 2048:
                    items.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            records: list[LogRecord] = []
            flush_requested = False
            for item in items:
                if item is _STOP:
                    stop = True
                elif item is self._flush_event:
                    flush_requested = True
                else:
                    records.append(self._make_record(item))
            if records:
                self._dispatch(records)
            for backend in self._backends:
                self._safe(backend.flush, flush_requested or stop)
            if flush_requested:
                self._flushed.set()
        for backend in self._backends:
            self._safe(backend.close)
        self._flushed.set()

    def _make_record(self, item: _QueueItem) -> LogRecord:
        ts_ns, level, category, component, message, source, context = item
        redact = self.redact
        ctx = {str(k): redact(str(v)) for k, v in context.items()} if context else None
        return LogRecord(
            ts_ns=ts_ns,
            level=level,
            category=category,
            component=component,
            message=redact(message),
            source=source,
            context=ctx,
        )

    def _dispatch(self, records: list[LogRecord]) -> None:
        for backend in self._backends:
            selected = records if backend.min_level <= self.min_level else [
                r for r in records if r.level >= backend.min_level
            ]
            if selected:
                self._safe(backend.write, selected)
        for listener in self._listeners:
            for record in records:
                self._safe(listener, record)

    @staticmethod
    def _safe(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as e:  # a backend must never take the writer down
            name = getattr(fn, "__qualname__", fn)
            print(f"arb logging: {name} failed: {type(e).__name__}: {e}", file=sys.stderr)


class CategoryLogger:
    """``debug/info/warning/error/exception`` bound to one category and component."""

    __slots__ = ("_category", "_component", "_manager")

    def __init__(self, manager: LoggingManager, category: LogCategory, component: str) -> None:
        self._manager = manager
        self._category = category
        self._component = component

    def debug(self, message: str, **context: Any) -> None:
        self._manager.log(LogLevel.DEBUG, self._category, message, self._component, context)

    def info(self, message: str, **context: Any) -> None:
        self._manager.log(LogLevel.INFO, self._category, message, self._component, context)

    def warning(self, message: str, **context: Any) -> None:
        self._manager.log(LogLevel.WARNING, self._category, message, self._component, context)

    def error(self, message: str, **context: Any) -> None:
        self._manager.log(LogLevel.ERROR, self._category, message, self._component, context)

    def exception(self, message: str, error: BaseException, **context: Any) -> None:
        """Log at ERROR with the exception's type, text and traceback."""
        import traceback

        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self._manager.log(
            LogLevel.ERROR, self._category, f"{message}: {type(error).__name__}: {error}\n{trace}",
            self._component, context,
        )


_FORMATTER = std_logging.Formatter()


class StdlibBridge(std_logging.Handler):
    """Standard-library log records into the manager (category from the logger name, else the default)."""

    def __init__(self, manager: LoggingManager, category: LogCategory) -> None:
        super().__init__()
        self._manager = manager
        self._category = category

    def emit(self, record: std_logging.LogRecord) -> None:
        try:
            level = LogLevel(min(max((record.levelno // 10) * 10, 10), 50))
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message = f"{message}\n{_FORMATTER.formatException(record.exc_info)}"
            self._manager.log(
                level, self._category, message, record.name, source=SOURCE_PYTHON,
                ts_ns=int(record.created * 1e9),
            )
        except Exception:
            self.handleError(record)
