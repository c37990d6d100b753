"""
Redis I/O for the StateStore: one connection pool, one round trip per batch.

A batch of key values is written as **one** ``MULTI`` / ``SET key value EX ttl`` ... / ``EXEC``
transaction, sent in one write and acknowledged by one read:

- the command bytes are packed from RESP fragments cached per key (``SET key``) and per TTL (``EX ttl``),
  so a flush encodes only the values' length prefixes;
- the reply of a batch that succeeds is known in advance (``+OK``, ``+QUEUED`` per key, then the
  ``EXEC`` array of ``+OK``), so it is checked by comparing bytes instead of parsing 2n + 2 replies
  (reply parsing was most of a plain pipeline's cost). Any other reply is an error: the first error
  line is raised as ``ResponseError`` and the connection is dropped (it may hold unread replies). The
  reply is read from the connection's stream, a private attribute of redis-py 5-7; a release without it
  gets the replies read through redis-py's own parser (slower, same outcome; both ways are tested).
- ``MULTI``/``EXEC`` keeps a batch atomic for other readers (what the earlier Lua script gave), and
  costs Redis about a third of the script's time (measured: ~45-115 us vs ~190 us per 100 keys; a Lua
  ``redis.call`` per key is the script's overhead).

Reads use ``MGET``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MasterDownError
from redis.exceptions import OutOfMemoryError
from redis.exceptions import ReadOnlyError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


class RedisWritesRefused(RedisConnectionError):
    """
    Redis answers but refuses writes for a state of its own (``OOM`` at ``maxmemory``, ``MISCONF`` after a
    failed save on a full disk, ``READONLY`` replica, ...): for the store it is unavailable, like an
    unreachable Redis, and writes go to PostgreSQL until it takes them again.
    """


# error codes of a Redis that refuses writes for its own state (not for the command)
_UNAVAILABLE_CODES = ("OOM ", "MISCONF ", "READONLY ", "LOADING ", "MASTERDOWN ", "NOREPLICAS ", "BUSY ")
_UNAVAILABLE_TYPES = (OutOfMemoryError, ReadOnlyError, MasterDownError)


def _refusal(error: str) -> Exception:
    # the error line of a refused batch as the exception the store acts on
    if error.startswith(_UNAVAILABLE_CODES):
        return RedisWritesRefused(error)
    return ResponseError(error)

# Errors that mean "Redis is unreachable" (as opposed to a bad command or a foreign value).
REDIS_DOWN_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)

MAX_KEYS_PER_CALL = 1_000  # a re-seed of many keys is split so Redis is never blocked for long

_MULTI = b"*1\r\n$5\r\nMULTI\r\n"
_EXEC = b"*1\r\n$4\r\nEXEC\r\n"


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def expected_reply(n: int) -> bytes:
    """The reply of a successful ``MULTI``, ``n`` ``SET``, ``EXEC``."""
    return b"+OK\r\n" + b"+QUEUED\r\n" * n + b"*%d\r\n" % n + b"+OK\r\n" * n


def first_error(reply: bytes) -> str | None:
    """The first complete error line (``-...``) of a raw reply, without the ``-``; ``None`` if none yet."""
    for line in reply.split(b"\r\n")[:-1]:  # the last piece is incomplete (or empty)
        if line.startswith(b"-"):
            return line[1:].decode(errors="replace")
    return None


class RedisIO:
    """
    The Redis side of the store.

    Parameters
    ----------
    url : str
        ``redis://host:port/db``.
    pool_size : int
        Connections in the one pool.
    timeout_secs : float
        Connect and socket timeout: past it Redis counts as unreachable.
    """

    def __init__(self, url: str, pool_size: int, timeout_secs: float) -> None:
        self.pool = aredis.ConnectionPool.from_url(
            url,
            max_connections=pool_size,
            socket_connect_timeout=timeout_secs,
            socket_timeout=timeout_secs,
        )
        self.client = aredis.Redis(connection_pool=self.pool)
        self._write_conn: Any = None
        self._set_frags: dict[str, bytes] = {}  # key -> "*5 $3 SET $n key"
        self._ttl_frags: dict[int, bytes] = {}  # ttl -> "$2 EX $n ttl"
        self._replies: dict[int, bytes] = {}  # n -> the reply of a successful n-key batch
        self._write_lock = asyncio.Lock()  # one batch at a time on the write connection

    async def close(self) -> None:
        if self._write_conn is not None:
            await self.pool.release(self._write_conn)
            self._write_conn = None
        await self.client.aclose()
        await self.pool.disconnect()

    async def ping(self) -> bool:
        return bool(await self.client.execute_command("PING"))

    def _set_frag(self, key: str) -> bytes:
        frag = self._set_frags.get(key)
        if frag is None:
            frag = b"*5\r\n$3\r\nSET\r\n" + _bulk(key.encode())
            if len(self._set_frags) < 100_000:  # bounded: keys are per symbol and field, not per event
                self._set_frags[key] = frag
        return frag

    def _ttl_frag(self, ttl: int) -> bytes:
        frag = self._ttl_frags.get(ttl)
        if frag is None:
            frag = b"$2\r\nEX\r\n" + _bulk(b"%d" % ttl)
            if len(self._ttl_frags) < 10_000:  # COOLDOWN TTLs vary; the domains' are a handful
                self._ttl_frags[ttl] = frag
        return frag

    def pack_set_many(self, items: Sequence[tuple[str, bytes, int]]) -> bytes:
        """``MULTI``, ``SET key value EX ttl`` per ``(key, value, ttl)`` item, ``EXEC``: one RESP buffer."""
        frags = [_MULTI]
        append = frags.append
        set_frags = self._set_frags
        ttl_frags = self._ttl_frags
        for key, value, ttl in items:
            append(set_frags.get(key) or self._set_frag(key))
            append(b"$%d\r\n%b\r\n" % (len(value), value))
            append(ttl_frags.get(ttl) or self._ttl_frag(ttl))
        append(_EXEC)
        # One bytes object: the transport's writelines over hundreds of fragments costs more than a join.
        return b"".join(frags)

    async def set_many(
        self,
        items: Sequence[tuple[str, bytes, int]],
        overlap: Callable[[], None] | None = None,
    ) -> None:
        """
        ``SET key value EX ttl`` for every item: one transaction and one round trip per
        :data:`MAX_KEYS_PER_CALL` keys.

        ``overlap``, when given, is called once while Redis works on the first batch (after it is sent,
        before its reply is awaited): CPU work the caller needs anyway, taken off the round trip.

        Raises one of :data:`REDIS_DOWN_ERRORS` when Redis is unreachable or refuses writes for its own state
        (:class:`RedisWritesRefused`: out of memory, a failed save, a read-only replica), ``ResponseError`` when Redis
        refuses a command (the batch is then not written, or not entirely).
        """
        async with self._write_lock:
            for start in range(0, len(items), MAX_KEYS_PER_CALL):
                chunk = items[start : start + MAX_KEYS_PER_CALL]
                n = len(chunk)
                expected = self._replies.get(n)
                if expected is None:
                    expected = self._replies[n] = expected_reply(n)
                await self._call_packed(self.pack_set_many(chunk), n, expected, overlap)
                overlap = None

    async def _call_packed(
        self,
        packed: bytes,
        n: int,
        expected: bytes,
        overlap: Callable[[], None] | None,
    ) -> None:
        # Batch writes come from one writer, one at a time: they keep one connection of the pool rather
        # than taking and returning it (with its health poll) on every flush.
        conn = self._write_conn
        if conn is None:
            conn = self._write_conn = await self.pool.get_connection()
        try:
            await conn.send_packed_command(packed, check_health=False)  # (re)connects when needed
            if overlap is not None:
                overlap()
            reader = self._stream(conn)
            if reader is not None:
                error = await self._read_raw(reader, expected, conn.socket_timeout)
            else:
                error = await self._read_parsed(conn, n)
            if error is None:
                return
        except BaseException:
            await conn.disconnect()  # reconnects on the next send
            raise
        await conn.disconnect()  # replies may be left unread: never reuse the stream
        raise _refusal(error)

    @staticmethod
    def _stream(conn: Any) -> asyncio.StreamReader | None:
        # The connection's stream, which redis-py reads its replies from (a private attribute of redis-py
        # 5-7): None if a release names it otherwise, and the write path then reads through redis-py's parser.
        reader = getattr(conn, "_reader", None)
        return reader if isinstance(reader, asyncio.StreamReader) else None

    @staticmethod
    async def _read_raw(reader: asyncio.StreamReader, expected: bytes, timeout: float | None) -> str | None:
        # The reply read from the stream and compared as bytes: None when it is the expected one, else the
        # first error line (or what came instead). Nothing else uses the connection and every reply is read
        # to its end, so the stream holds only ours.
        async with asyncio.timeout(timeout):
            reply = b""
            while True:
                chunk = await reader.read(65_536)
                if not chunk:
                    raise RedisConnectionError("Redis closed the connection during a write")
                reply += chunk
                if len(reply) >= len(expected) or not expected.startswith(reply):
                    break
            if reply == expected:
                return None
            error = first_error(reply)
            while error is None and len(reply) < 1_048_576:  # read on to the first error line
                chunk = await reader.read(65_536)
                if not chunk:
                    break
                reply += chunk
                error = first_error(reply)
        return error or f"unexpected reply: {reply[:200]!r}"

    @staticmethod
    async def _read_parsed(conn: Any, n: int) -> str | None:
        # The n + 2 replies parsed by redis-py (slower, same outcome): None when MULTI, every SET and EXEC
        # succeeded, else the first error (a refused command raises ResponseError here).
        try:
            for _ in range(n + 1):  # MULTI's +OK, then +QUEUED per SET
                await conn.read_response(disable_decoding=True)
            results = await conn.read_response(disable_decoding=True)  # EXEC: one reply per SET
        except _UNAVAILABLE_TYPES as e:
            raise RedisWritesRefused(f"{type(e).__name__}: {e}") from e
        if not isinstance(results, list) or len(results) != n:
            return f"unexpected EXEC reply: {results!r:.200}"
        error = next((r for r in results if isinstance(r, Exception)), None)
        if isinstance(error, _UNAVAILABLE_TYPES):
            raise RedisWritesRefused(f"{type(error).__name__}: {error}")
        return None if error is None else str(error)

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        return list(await self.client.mget(keys))

    async def get(self, key: str) -> bytes | None:
        value: bytes | None = await self.client.get(key)
        return value

    async def key_type(self, key: str) -> str:
        value = await self.client.type(key)
        return value.decode() if isinstance(value, bytes) else str(value)

    async def scan(self, pattern: str, count: int = 1_000) -> list[str]:
        out: list[str] = []
        async for key in self.client.scan_iter(match=pattern, count=count):
            out.append(key.decode() if isinstance(key, bytes) else key)
        return out
