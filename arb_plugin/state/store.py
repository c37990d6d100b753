"""
StateStore: the one interface to application state (Redis primary, PostgreSQL snapshots).

- **Redis** through one connection pool: a batch of key values is one ``EVALSHA`` round trip
  (:mod:`arb_plugin.state.redis_io`), reads use ``MGET``/``GET``.
- **PostgreSQL** through an asyncpg pool: snapshot rows go in with ``COPY`` (``copy_records_to_table``),
  JSONB travels as bytes (a binary codec, no re-encoding).
- **In memory**: the latest value of every key this store wrote (with its expiry), so the latest
  snapshot per symbol is read without I/O, and Redis can be re-seeded.

Fallback
--------
When a Redis call fails with a connection error or timeout, the store marks Redis unreachable and copies
the latest value of every live key it keeps to PostgreSQL (what Redis held, for other readers). From then
on every key value is also written to PostgreSQL as a row (so no write is lost), and reads are served from
memory, then PostgreSQL. The store probes Redis every ``redis_retry_secs`` (on the next write or read);
when it answers, every live key in memory is written back with its remaining TTL (re-seeding) before
Redis is used again. A read of a key Redis does not have (lost in a restart, never written by this process)
also falls back to PostgreSQL, within the domain's TTL.

Reads are always correct for the process that writes (memory first). Another process reading the same
session sees a value Redis acknowledged and then lost once the writer notices the outage (its next
write), and may read PostgreSQL for up to its own ``redis_retry_secs`` after Redis returns.

Bad values (a corrupt or foreign value under our keys, a row that does not validate) are reported through
``on_problem`` with the key or row and skipped; they are never written anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple
from typing import TypeVar

import asyncpg
import msgspec
from redis.exceptions import ResponseError

from arb_plugin.events import GUARD_GLOBAL_SCOPE
from arb_plugin.events import GuardStateSnapshot
from arb_plugin.events import PairSnapshot
from arb_plugin.state.keys import DOMAIN_TTL_SECS
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.keys import check_part
from arb_plugin.state.records import ROW_COLUMNS
from arb_plugin.state.records import KeyWrite
from arb_plugin.state.records import SnapshotRow
from arb_plugin.state.records import SnapshotTable
from arb_plugin.state.records import row_for
from arb_plugin.state.records import row_target
from arb_plugin.state.redis_io import REDIS_DOWN_ERRORS
from arb_plugin.state.redis_io import RedisIO
from arb_plugin.state.sessions import SessionActiveError
from arb_plugin.state.sessions import SessionInfo
from arb_plugin.state.sessions import SessionStatus
from arb_plugin.state.sessions import heartbeat as session_heartbeat
from arb_plugin.state.sessions import start_session
from arb_plugin.state.sessions import stop_session
from arb_plugin.state.validate import InvalidStateValue
from arb_plugin.state.validate import decode_guard_state
from arb_plugin.state.validate import decode_pair_snapshot

T = TypeVar("T")

_encode_json = msgspec.json.Encoder().encode

_log = logging.getLogger("arb_plugin.state")

PG_CANDIDATE_ROWS = 5  # newest rows tried per key when the newest does not validate
_NOT_RENEWED = frozenset({Domain.COOLDOWN, Domain.METRICS, Domain.WS})


class _Entry(NamedTuple):
    domain: Domain
    symbol: str | None
    field: str | None
    payload: bytes
    ttl_secs: int
    expires_at: float  # wall clock


async def _init_pg_connection(conn: asyncpg.Connection) -> None:
    # JSONB as raw bytes both ways: binary format is a version byte (1) and the JSON text.
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda data: b"\x01" + (data if isinstance(data, bytes) else data.encode()),
        decoder=lambda data: data[1:],
        format="binary",
    )


async def create_pg_pool(dsn: str, schema: str, min_size: int = 1, max_size: int = 4) -> asyncpg.Pool:
    """An asyncpg pool whose connections use ``schema`` and pass JSONB as bytes."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": "arb-plugin-state"},
        init=_init_pg_connection,
    )
    assert pool is not None
    return pool


async def copy_rows(conn: asyncpg.Connection, session_id: str, rows: Sequence[SnapshotRow], schema: str) -> None:
    """
    ``COPY`` ``rows`` into their tables: binary format, one COPY per table, one transaction.

    The records are built before the COPY starts, so this is time on the critical path: rows of one
    batch share their ``created_at``, so its ``datetime`` is made once per distinct value, not per row.
    """
    by_table: dict[SnapshotTable, list[tuple[Any, ...]]] = {}
    stamps: dict[float, dt.datetime] = {}
    from_timestamp = dt.datetime.fromtimestamp
    utc = dt.UTC
    for table, symbol, kind, data, ts_event, created_at in rows:
        created = stamps.get(created_at)
        if created is None:
            created = stamps[created_at] = from_timestamp(created_at, utc)
        records = by_table.get(table)
        if records is None:
            records = by_table[table] = []
        records.append((session_id, created, ts_event, symbol, kind, data))
    async with conn.transaction():
        for table, records in by_table.items():
            await conn.copy_records_to_table(
                table.value,
                records=records,
                columns=ROW_COLUMNS,
                schema_name=schema,
            )


class StateStore:
    """
    Application state of one session.

    Parameters
    ----------
    keys : KeyBuilder
        The session's keyspace (env + session id).
    redis_url, postgres_dsn : str
        Where state lives.
    postgres_schema : str
        Schema holding the tables (``arb db migrate``).
    redis_pool_size, redis_timeout_ms, redis_retry_secs
        See :class:`arb_plugin.settings.StateSettings`.
    on_problem : Callable[[str], None], optional
        Called with a message for every bad value skipped and every fallback; default logs a warning.
    """

    def __init__(
        self,
        keys: KeyBuilder,
        redis_url: str,
        postgres_dsn: str,
        postgres_schema: str = "public",
        redis_pool_size: int = 8,
        redis_timeout_ms: int = 500,
        redis_retry_secs: float = 1.0,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        if keys.session_id is None:
            raise ValueError("a StateStore needs a session-scoped KeyBuilder")
        self.keys = keys
        self.session_id: str = keys.session_id
        self.schema = postgres_schema
        self._redis_url = redis_url
        self._dsn = postgres_dsn
        self._redis = RedisIO(redis_url, redis_pool_size, redis_timeout_ms / 1000)
        self._retry_secs = redis_retry_secs
        self._pg: asyncpg.Pool | None = None
        self._latest: dict[str, _Entry] = {}
        self._redis_up = True
        self._copy_pending = False  # Redis just went away: copy the latest state to PostgreSQL
        self._next_probe = 0.0
        self._pending_rows: list[SnapshotRow] = []
        self._problem = on_problem or _log.warning
        self.session: SessionInfo | None = None
        self.stats = {"redis_failures": 0, "reseeds": 0, "fallback_rows": 0, "bad_values": 0}

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        keys: KeyBuilder,
        on_problem: Callable[[str], None] | None = None,
    ) -> StateStore:
        """Build from :class:`arb_plugin.settings.Settings` (uses its secret-aware URL and DSN)."""
        state = settings.state
        return cls(
            keys,
            redis_url=settings.redis_url,
            postgres_dsn=settings.postgres_dsn,
            postgres_schema=state.postgres_schema,
            redis_pool_size=state.redis_pool_size,
            redis_timeout_ms=state.redis_timeout_ms,
            redis_retry_secs=state.redis_retry_secs,
            on_problem=on_problem,
        )

    # -- lifecycle -----------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the PostgreSQL pool (required) and check Redis (optional: unreachable means fallback)."""
        self._pg = await create_pg_pool(self._dsn, self.schema)
        try:
            await self._redis.ping()
            self._redis_up = True
        except REDIS_DOWN_ERRORS as e:
            self._redis_unreachable(e)

    async def close(self) -> None:
        try:
            await self.flush_pending_rows()
        finally:
            await self._redis.close()
            if self._pg is not None:
                await self._pg.close()
                self._pg = None

    @property
    def redis_available(self) -> bool:
        """``False`` while Redis is unreachable and PostgreSQL takes every write."""
        return self._redis_up

    @property
    def pg(self) -> asyncpg.Pool:
        if self._pg is None:
            raise RuntimeError("StateStore is not connected (call connect())")
        return self._pg

    # -- Redis health --------------------------------------------------------------------------------

    def _redis_unreachable(self, error: BaseException) -> None:
        if self._redis_up:
            self._problem(
                f"Redis unreachable or refusing writes ({type(error).__name__}: {error}); writes go to PostgreSQL "
                f"until it answers again (probing every {self._retry_secs} s)",
            )
        if self._redis_up:
            self._copy_pending = True
        self._redis_up = False
        self.stats["redis_failures"] += 1
        self._next_probe = time.monotonic() + self._retry_secs

    def _latest_as_rows(self) -> list[SnapshotRow]:
        """Every live key value in memory as a row: what Redis held, for readers while it is away."""
        now = time.time()
        return [
            row_for(KeyWrite(e.domain, e.symbol, e.field, e.payload), now)
            for e in self._latest.values()
            if e.expires_at > now
        ]

    async def _redis_usable(self) -> bool:
        """``True`` when Redis may be used now; probes and re-seeds after an outage."""
        if self._redis_up:
            return True
        if time.monotonic() < self._next_probe:
            return False
        try:
            await self._redis.ping()
            count = await self._reseed()
        except REDIS_DOWN_ERRORS as e:
            self._redis_unreachable(e)
            return False
        self._redis_up = True
        self.stats["reseeds"] += 1
        self._problem(f"Redis answers again: re-seeded {count} keys from the latest state")
        return True

    async def _reseed(self) -> int:
        now = time.time()
        items: list[tuple[str, bytes, int]] = []
        for key, entry in list(self._latest.items()):
            remaining = math.ceil(entry.expires_at - now)
            if remaining <= 0:
                del self._latest[key]
                continue
            items.append((key, entry.payload, remaining))
        await self._redis.set_many(items)
        return len(items)

    async def maintain(self) -> None:
        """With nothing to write: probe an unreachable Redis (re-seeding it) and retry kept rows."""
        await self._redis_usable()
        if not self._redis_up and self._copy_pending:
            self._copy_pending = False
            await self.insert_rows(self._latest_as_rows())
        await self.flush_pending_rows()

    async def renew(self) -> int:
        """
        Re-write every live key this store keeps (full domain TTL), so session state outlives the TTL
        only by the TTL once the session stops renewing it. COOLDOWN keys keep their own expiry; METRICS
        and WS keys are not renewed (they are live views). Returns the number of keys renewed.
        """
        now = time.time()
        items: list[tuple[str, bytes, int]] = []
        for key, entry in list(self._latest.items()):
            if entry.expires_at <= now:
                del self._latest[key]
                continue
            if entry.domain in _NOT_RENEWED:
                continue
            ttl = entry.domain.ttl_secs
            self._latest[key] = entry._replace(ttl_secs=ttl, expires_at=now + ttl)
            items.append((key, entry.payload, ttl))
        if items and await self._redis_usable():
            try:
                await self._redis.set_many(items)
            except REDIS_DOWN_ERRORS as e:
                self._redis_unreachable(e)
        return len(items)

    # -- writes --------------------------------------------------------------------------------------

    async def write(self, writes: Iterable[KeyWrite], rows: Iterable[SnapshotRow] = ()) -> None:
        """
        Write key values (Redis, or PostgreSQL while Redis is away) and snapshot rows (PostgreSQL, COPY).

        Never raises for an unreachable Redis; a PostgreSQL failure keeps the rows for the next call and
        re-raises.
        """
        now = time.time()
        writes = writes if isinstance(writes, list | tuple) else list(writes)
        items: list[tuple[str, bytes, int]] = []
        pg_rows: list[SnapshotRow] = list(rows)
        key_of = self.keys
        domain_ttls = DOMAIN_TTL_SECS
        for w in writes:
            domain, symbol, field, payload, durable, ttl, _ = w
            domain_ttl = domain_ttls[domain]
            items.append(
                (
                    key_of(domain, symbol, field),
                    payload,
                    domain_ttl if ttl is None else max(1, min(ttl, domain_ttl)),
                ),
            )
            if durable:
                pg_rows.append(row_for(w, now))
        remembered = False

        def remember() -> None:
            # The in-memory latest values (expiry included); run while Redis works on the batch.
            nonlocal remembered
            remembered = True
            latest = self._latest
            new_entry = tuple.__new__
            for (key, payload, ttl), w in zip(items, writes, strict=True):
                latest[key] = new_entry(_Entry, (w.domain, w.symbol, w.field, payload, ttl, now + ttl))

        # Durable rows first: once Redis shows a value, its history is in PostgreSQL (a crash between
        # the two leaves PostgreSQL ahead, and resume takes the newer of the two).
        pg_error: Exception | None = None
        if pg_rows:
            remember()
            try:
                await self.insert_rows(pg_rows)
            except Exception as e:  # kept for retry; Redis is still written
                pg_error = e
        if items:
            try:
                if await self._redis_usable():
                    try:
                        await self._redis.set_many(items, overlap=remember)
                    except REDIS_DOWN_ERRORS as e:
                        self._redis_unreachable(e)
            finally:
                if not remembered:
                    remember()
            if not self._redis_up:
                if self._copy_pending:
                    self._copy_pending = False
                    fallback_rows = self._latest_as_rows()  # includes this batch
                else:
                    fallback_rows = [row_for(w, now) for w in writes if not w.durable]
                self.stats["fallback_rows"] += len(fallback_rows)
                if pg_error is None:
                    try:
                        await self.insert_rows(fallback_rows)
                    except Exception as e:
                        pg_error = e
                else:
                    self._pending_rows.extend(fallback_rows)
        if pg_error is not None:
            raise pg_error

    async def insert_rows(self, rows: Sequence[SnapshotRow]) -> None:
        """
        COPY ``rows`` (after any rows kept from a failed earlier call).

        A batch PostgreSQL refuses for a value in it (``DataError``: e.g. a ``\\u0000`` that ``jsonb`` does not
        take) is split until the refused rows are found; each is kept as an ``unstorable`` row holding its
        exact bytes (base64) and reported, and every other row is written. Any other failure keeps the rows
        not written yet for the next call and re-raises.
        """
        batch = self._pending_rows + list(rows)
        self._pending_rows = []
        unwritten = [batch]  # parts not written yet, in order: the whole batch, or halves of a refused one
        try:
            async with self.pg.acquire() as conn:
                while unwritten:
                    part = unwritten[0]
                    try:
                        await copy_rows(conn, self.session_id, part, self.schema)
                    except asyncpg.DataError as e:
                        if len(part) > 1:
                            half = len(part) // 2
                            unwritten[0:1] = [part[:half], part[half:]]
                            continue
                        await copy_rows(conn, self.session_id, [self._unstorable(part[0], e)], self.schema)
                    unwritten.pop(0)
        except Exception:
            self._pending_rows = [row for part in unwritten for row in part]
            raise

    def _unstorable(self, row: SnapshotRow, error: Exception) -> SnapshotRow:
        self._bad_value(
            f"{row.table.value} row ({row.kind} {row.symbol}) refused by PostgreSQL ({error}); kept as an "
            "'unstorable' row with its bytes in base64",
        )
        data = msgspec.json.encode({"unstorable": base64.b64encode(row.data).decode(), "error": str(error)[:500]})
        return row._replace(data=data)

    async def flush_pending_rows(self) -> None:
        if self._pending_rows and self._pg is not None:
            await self.insert_rows(())

    @property
    def pending_rows(self) -> int:
        return len(self._pending_rows)

    # -- reads ---------------------------------------------------------------------------------------

    def cached(self, domain: Domain, symbol: str | None = None, field: str | None = None) -> bytes | None:
        """The latest value this store wrote under the key, if it has not expired (no I/O)."""
        entry = self._latest.get(self.keys(domain, symbol, field))
        if entry is None or entry.expires_at <= time.time():
            return None
        return entry.payload

    def latest_pair_snapshot(self, symbol: str) -> PairSnapshot | None:
        """The latest PairSnapshot of ``symbol`` this store wrote or resumed (memory only)."""
        payload = self.cached(Domain.SNAPSHOT, symbol)
        return None if payload is None else decode_pair_snapshot(payload)

    async def read(
        self,
        domain: Domain,
        symbol: str | None = None,
        field: str | None = None,
        decode: Callable[[bytes], T] | None = None,
    ) -> T | bytes | None:
        """
        Read one key: memory, then Redis, then PostgreSQL (the newest valid row within the domain TTL).

        With ``decode``, a value that does not decode is reported and the next source is tried.
        """
        payload = self.cached(domain, symbol, field)
        if payload is not None:
            return payload if decode is None else decode(payload)
        key = self.keys(domain, symbol, field)
        if await self._redis_usable():
            try:
                raw = await self._redis.get(key)
            except ResponseError as e:  # WRONGTYPE: a foreign value under our key
                self._bad_value(f"Redis key {key}: {e}; skipped")
                raw = None
            except REDIS_DOWN_ERRORS as e:
                self._redis_unreachable(e)
                raw = None
            if raw is not None:
                if decode is None:
                    return raw
                try:
                    return decode(raw)
                except InvalidStateValue as e:
                    self._bad_value(f"Redis key {key}: {e}; value skipped (not overwritten)")
        found = await self._pg_latest(domain, [symbol], field, decode or (lambda b: b))
        return found.get(symbol)

    async def read_many(
        self,
        domain: Domain,
        symbols: Sequence[str],
        field: str | None = None,
    ) -> dict[str, bytes]:
        """Read one key per symbol with one ``MGET`` (memory first; missing keys from PostgreSQL)."""
        out: dict[str, bytes] = {}
        missing: list[str] = []
        for symbol in symbols:
            payload = self.cached(domain, symbol, field)
            if payload is None:
                missing.append(symbol)
            else:
                out[symbol] = payload
        if missing and await self._redis_usable():
            try:
                values = await self._redis.mget([self.keys(domain, s, field) for s in missing])
            except REDIS_DOWN_ERRORS as e:
                self._redis_unreachable(e)
                values = [None] * len(missing)
            still: list[str] = []
            for symbol, value in zip(missing, values, strict=True):
                if value is None:
                    still.append(symbol)
                else:
                    out[symbol] = value
            missing = still
        if missing:
            out.update(await self._pg_latest(domain, missing, field, lambda b: b))
        return out

    def _bad_value(self, message: str) -> None:
        self.stats["bad_values"] += 1
        self._problem(message)

    async def _pg_latest(
        self,
        domain: Domain,
        symbols: Sequence[str | None],
        field: str | None,
        decode: Callable[[bytes], T],
    ) -> dict[Any, T]:
        """
        Newest valid row per symbol of key ``domain/symbol/field`` that Redis would still hold: written
        within the domain TTL, or (for keys a running session renews) of a session whose last heartbeat
        is within the TTL. For the session this store has resumed, that is its last heartbeat before this
        start (the start itself refreshed it).
        """
        if not symbols:
            return {}
        table, kind = row_target(domain, symbols[0], field)
        wanted = [s for s in symbols if s is not None]
        rows = await self.pg.fetch(
            f"""
            SELECT id, symbol, data FROM (
                SELECT id, symbol, data,
                       row_number() OVER (PARTITION BY symbol ORDER BY id DESC) AS rn
                FROM {table.value}
                WHERE session_id = $1 AND kind = $2 AND kind ~ '^[A-Z]'
                  AND (symbol = ANY($3::text[]) OR (symbol IS NULL AND $4))
                  AND (created_at > now() - make_interval(secs => $5)
                       OR ($7 AND CASE WHEN $8::timestamptz IS NOT NULL
                                       THEN $8 > now() - make_interval(secs => $5)
                                       ELSE EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = $1
                                                    AND s.heartbeat_at > now() - make_interval(secs => $5))
                                  END))
            ) newest
            WHERE rn <= $6
            ORDER BY symbol, id DESC
            """,
            self.session_id,
            kind,
            wanted,
            None in symbols,
            float(domain.ttl_secs),
            PG_CANDIDATE_ROWS,
            domain not in _NOT_RENEWED,
            self.session.previous_heartbeat_at if self.session is not None else None,
        )
        out: dict[Any, T] = {}
        for row in rows:
            symbol = row["symbol"]
            if symbol in out:
                continue
            try:
                out[symbol] = decode(row["data"])
            except InvalidStateValue as e:
                self._bad_value(f"{table.value} row id={row['id']} ({kind} {symbol}): {e}; skipped")
        return out

    # -- pair snapshots (resume) ---------------------------------------------------------------------

    def pair_snapshot_write(self, snapshot: PairSnapshot, payload: bytes | None = None) -> KeyWrite:
        """The key write that stores ``snapshot`` (SNAPSHOT domain, durable: every transition is a row)."""
        return KeyWrite(
            Domain.SNAPSHOT,
            snapshot.symbol,
            None,
            payload if payload is not None else snapshot.to_json(),
            durable=True,
            ts_event=snapshot.ts_event,
        )

    async def load_pair_snapshots(self, symbols: Sequence[str] | None = None) -> dict[str, PairSnapshot]:
        """
        The latest valid PairSnapshot per symbol of this session: Redis, or PostgreSQL when Redis lost it.

        Every candidate is validated; a corrupt or foreign value is reported and skipped. When Redis and
        PostgreSQL both hold a valid snapshot, the newer (``ts_event``) wins. The chosen snapshots are kept
        in memory and written back to Redis where it lacked them (they already are rows).
        """
        candidates: dict[str, list[PairSnapshot]] = {}
        redis_good: dict[str, PairSnapshot] = {}
        if await self._redis_usable():
            try:
                redis_good = await self._redis_pair_snapshots(symbols)
            except REDIS_DOWN_ERRORS as e:
                self._redis_unreachable(e)
        for symbol, snap in redis_good.items():
            candidates.setdefault(symbol, []).append(snap)
        pg_symbols: list[str | None]
        if symbols is None:
            pg_symbols = await self._pg_symbols(SnapshotTable.POSITION, Domain.SNAPSHOT.value)
        else:
            pg_symbols = list(symbols)
        for symbol, snap in (await self._pg_latest(Domain.SNAPSHOT, pg_symbols, None, decode_pair_snapshot)).items():
            candidates.setdefault(symbol, []).append(snap)
        chosen: dict[str, PairSnapshot] = {}
        for symbol, snaps in candidates.items():
            chosen[symbol] = max(snaps, key=lambda s: s.ts_event)
        heal = [
            KeyWrite(Domain.SNAPSHOT, symbol, None, snap.to_json(), ts_event=snap.ts_event)
            for symbol, snap in chosen.items()
            if redis_good.get(symbol) != snap
        ]
        now = time.time()
        for symbol, snap in chosen.items():
            if symbol in redis_good and redis_good[symbol] == snap:
                ttl = Domain.SNAPSHOT.ttl_secs
                key = self.keys(Domain.SNAPSHOT, symbol)
                self._latest[key] = _Entry(Domain.SNAPSHOT, symbol, None, snap.to_json(), ttl, now + ttl)
        if heal:
            await self.write(heal)
        return chosen

    async def _redis_pair_snapshots(self, symbols: Sequence[str] | None) -> dict[str, PairSnapshot]:
        if symbols is None:
            names = await self._scanned_symbols(Domain.SNAPSHOT)
        else:
            names = list(symbols)
        keys = [self.keys(Domain.SNAPSHOT, s) for s in names]
        values = await self._redis.mget(keys)
        out: dict[str, PairSnapshot] = {}
        for symbol, key, value in zip(names, keys, values, strict=True):
            if value is None:
                kind = await self._redis.key_type(key)
                if kind != "none":
                    self._bad_value(f"Redis key {key} holds a {kind}, not a PairSnapshot; skipped")
                continue
            try:
                snap = decode_pair_snapshot(value)
            except InvalidStateValue as e:
                self._bad_value(f"Redis key {key}: {e}; skipped (not overwritten with it)")
                continue
            if snap.symbol != symbol:
                self._bad_value(f"Redis key {key} holds the snapshot of {snap.symbol!r}; skipped")
                continue
            out[symbol] = snap
        return out

    async def _pg_symbols(self, table: SnapshotTable, kind: str) -> list[str | None]:
        rows = await self.pg.fetch(
            f"SELECT DISTINCT symbol FROM {table.value} "
            "WHERE session_id = $1 AND kind = $2 AND kind ~ '^[A-Z]' AND symbol IS NOT NULL",
            self.session_id,
            kind,
        )
        return [r["symbol"] for r in rows]

    # -- risk guard state ----------------------------------------------------------------------------

    def guard_state_writes(self, snapshot: GuardStateSnapshot) -> list[KeyWrite]:
        """
        Key writes for a guard state (see :class:`arb_plugin.events.GuardStateSnapshot`):

        - ``GUARD``: the global level with every running cooldown; ``GUARD:{symbol}``: one per symbol in the
          snapshot (its state and its own cooldown). Each value is a ``GuardStateSnapshot`` and durable: a
          ``risk_guard_snapshots`` row (symbol NULL for the global level).
        - ``COOLDOWN`` (global) / ``COOLDOWN:{symbol}``: one per running cooldown, ``{"scope", "expires_ns"}``,
          with the cooldown's remaining time (on the snapshot's clock) as TTL, capped at the domain's 3,600 s:
          the key disappears when the cooldown expires. Never renewed; the next snapshot rewrites it.

        A symbol that cannot be a key part is reported and left out.
        """
        ts_event = snapshot.ts_event
        global_part = snapshot
        if snapshot.symbols:
            global_part = GuardStateSnapshot(state=snapshot.state, cooldowns=snapshot.cooldowns, ts_event=ts_event)
        writes = [KeyWrite(Domain.GUARD, None, None, global_part.to_json(), durable=True, ts_event=ts_event)]
        for symbol, state in snapshot.symbols.items():
            if not self._key_part_ok(symbol):
                continue
            own = {symbol: snapshot.cooldowns[symbol]} if symbol in snapshot.cooldowns else {}
            payload = GuardStateSnapshot(state=state, cooldowns=own, ts_event=ts_event).to_json()
            writes.append(KeyWrite(Domain.GUARD, symbol, None, payload, durable=True, ts_event=ts_event))
        for scope, expires_ns in snapshot.cooldowns.items():
            remaining = math.ceil((expires_ns - ts_event) / 1e9)
            scope_symbol = None if scope == GUARD_GLOBAL_SCOPE else scope
            if remaining <= 0 or (scope_symbol is not None and not self._key_part_ok(scope_symbol)):
                continue
            value = _encode_json({"scope": scope, "expires_ns": expires_ns})
            writes.append(
                KeyWrite(Domain.COOLDOWN, scope_symbol, None, value, ttl_secs=remaining, ts_event=ts_event),
            )
        return writes

    def _key_part_ok(self, symbol: str) -> bool:
        try:
            check_part("symbol", symbol)
        except ValueError as e:
            self._bad_value(f"guard state: {e}; left out")
            return False
        return True

    async def save_guard_state(self, snapshot: GuardStateSnapshot) -> None:
        """Persist the risk guard's state (GUARD + COOLDOWN keys, ``risk_guard_snapshots`` rows)."""
        await self.write(self.guard_state_writes(snapshot))

    async def load_guard_state(self) -> GuardStateSnapshot | None:
        """
        The guard state of this session to resume from, or ``None`` when there is none.

        Every ``GUARD`` key (global and per symbol) is read from Redis and from PostgreSQL (the newest valid
        ``risk_guard_snapshots`` row within the domain TTL); per key the newer (``ts_event``) wins, so keys
        Redis lost come from PostgreSQL. A corrupt or foreign value is reported and skipped. The result is
        one snapshot: the global state, every symbol's latest state, and every cooldown (latest expiry).
        """
        redis_good: dict[str | None, GuardStateSnapshot] = {}
        if await self._redis_usable():
            try:
                redis_good = await self._redis_guard_states()
            except REDIS_DOWN_ERRORS as e:
                self._redis_unreachable(e)
        scopes: list[str | None] = [None]
        scopes += await self._pg_symbols(SnapshotTable.RISK_GUARD, Domain.GUARD.value)
        pg_good = await self._pg_latest(Domain.GUARD, scopes, None, decode_guard_state)
        chosen: dict[str | None, GuardStateSnapshot] = {}
        for scope in (*redis_good, *pg_good):
            found = [s for s in (redis_good.get(scope), pg_good.get(scope)) if s is not None]
            chosen[scope] = max(found, key=lambda s: s.ts_event)
        if not chosen:
            return None
        ts_event = max(s.ts_event for s in chosen.values())
        top = chosen.pop(None, None)
        cooldowns = dict(top.cooldowns) if top is not None else {}
        symbols: dict[str, dict[str, Any]] = {}
        for symbol, snap in sorted((k, v) for k, v in chosen.items() if k is not None):
            symbols[symbol] = snap.state
            for scope, until in snap.cooldowns.items():
                cooldowns[scope] = max(cooldowns.get(scope, until), until)
        return GuardStateSnapshot(
            state=top.state if top is not None else {},
            cooldowns=cooldowns,
            ts_event=ts_event,
            symbols=symbols,
        )

    async def _scanned_symbols(self, domain: Domain) -> list[str]:
        """The symbols of this session's ``domain:symbol`` keys in Redis; any other key there is reported."""
        symbols = []
        for key in await self._redis.scan(self.keys.pattern(domain)):
            try:
                parts = self.keys.parse(key)
                if parts.symbol is None or parts.field is not None:
                    continue
                self.keys(domain, parts.symbol)  # a part the key builder refuses (e.g. a space) too
            except ValueError as e:
                self._bad_value(f"Redis key {key!r} is not one of this store's keys ({e}); skipped")
                continue
            symbols.append(parts.symbol)
        return symbols

    async def _redis_guard_states(self) -> dict[str | None, GuardStateSnapshot]:
        scopes: list[str | None] = [None, *await self._scanned_symbols(Domain.GUARD)]
        keys = [self.keys(Domain.GUARD, scope) for scope in scopes]
        values = await self._redis.mget(keys)
        out: dict[str | None, GuardStateSnapshot] = {}
        for scope, key, value in zip(scopes, keys, values, strict=True):
            if value is None:
                kind = await self._redis.key_type(key)
                if kind != "none":
                    self._bad_value(f"Redis key {key} holds a {kind}, not a GuardStateSnapshot; skipped")
                continue
            try:
                out[scope] = decode_guard_state(value)
            except InvalidStateValue as e:
                self._bad_value(f"Redis key {key}: {e}; skipped (not overwritten with it)")
        return out

    # -- sessions ------------------------------------------------------------------------------------

    def session_write(self, info: SessionInfo) -> KeyWrite:
        return KeyWrite(Domain.STATE, None, None, info.to_json())

    async def start_session(
        self,
        mode: str,
        config_hash: str | None,
        heartbeat_timeout_secs: float,
        wait_for_expiry: bool = False,
    ) -> SessionInfo:
        """
        Start (or resume) this store's session; see :func:`arb_plugin.state.sessions.start_session`.

        With ``wait_for_expiry``, a session that still looks active (a process restarted right after a
        crash) is waited for until its heartbeat expires, then resumed; a session whose heartbeat keeps
        beating (another live process) still raises :class:`SessionActiveError`.
        """
        waited = 0.0
        while True:
            try:
                async with self.pg.acquire() as conn:
                    info = await start_session(
                        conn,
                        self.session_id,
                        self.keys.env,
                        mode,
                        config_hash,
                        heartbeat_timeout_secs,
                    )
                break
            except SessionActiveError as e:
                remaining = heartbeat_timeout_secs - e.silent_secs
                if not wait_for_expiry or waited + remaining > heartbeat_timeout_secs * 1.5:
                    raise
                if waited == 0.0:
                    self._problem(f"{e}; waiting {remaining:.1f} s for its heartbeat to expire")
                delay = max(0.05, remaining + 0.05)
                await asyncio.sleep(delay)
                waited += delay
        self.session = info
        await self.write([self.session_write(info)])
        return info

    async def heartbeat(self) -> bool:
        """
        Refresh the session heartbeat (PostgreSQL) and the SESSION key's TTL (Redis).

        Return ``False`` when this process no longer owns the session (marked crashed, or resumed by another
        process): it must stop trading it.
        """
        starts = self.session.starts if self.session is not None else None
        async with self.pg.acquire() as conn:
            alive = await session_heartbeat(conn, self.session_id, starts)
        if not alive:
            self._problem(
                f"session {self.session_id}: this process (start {starts}) no longer owns it: marked crashed "
                "or resumed by another process",
            )
            return False
        if self.session is not None:
            payload = self.cached(Domain.STATE)
            if payload is not None:
                await self.write([KeyWrite(Domain.STATE, None, None, payload)])
        return alive

    async def stop_session(self, status: SessionStatus = SessionStatus.STOPPED) -> bool:
        """Mark this process's session stopped; ``False`` (reported) when another process owns it now."""
        starts = self.session.starts if self.session is not None else None
        async with self.pg.acquire() as conn:
            marked = await stop_session(conn, self.session_id, status, starts)
        if not marked:
            self._problem(f"session {self.session_id}: not marked {status.value}: another process has resumed it")
        return marked
