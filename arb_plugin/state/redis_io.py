"""
Redis I/O for the StateStore: one connection pool, one round trip per batch.

A batch of key values is written by **one** ``EVALSHA`` of a small Lua script that runs ``SET key value
EX ttl`` for every key on the server. Compared with a 100-command pipeline this sends one command and
reads one reply instead of a hundred (the reply parsing was most of the pipeline's cost), and the
command is packed from RESP fragments cached per key and per TTL, so a flush encodes only the values'
length prefixes. Reads use ``MGET``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Errors that mean "Redis is unreachable" (as opposed to a bad command or a foreign value).
REDIS_DOWN_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)

SET_MANY_LUA = """
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i], 'EX', ARGV[2 * i - 1])
end
return #KEYS
"""

MAX_KEYS_PER_CALL = 1_000  # a re-seed of many keys is split so Redis is never blocked for long


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


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
        self._sha: bytes | None = None
        self._write_conn: Any = None
        self._key_frags: dict[str, bytes] = {}
        self._ttl_frags: dict[int, bytes] = {}

    async def close(self) -> None:
        if self._write_conn is not None:
            await self.pool.release(self._write_conn)
            self._write_conn = None
        await self.client.aclose()
        await self.pool.disconnect()

    async def ping(self) -> bool:
        return bool(await self.client.execute_command("PING"))

    def _key_frag(self, key: str) -> bytes:
        frag = self._key_frags.get(key)
        if frag is None:
            frag = _bulk(key.encode())
            self._key_frags[key] = frag
        return frag

    def _ttl_frag(self, ttl: int) -> bytes:
        frag = self._ttl_frags.get(ttl)
        if frag is None:
            frag = _bulk(b"%d" % ttl)
            self._ttl_frags[ttl] = frag
        return frag

    async def _load_script(self) -> bytes:
        sha = await self.client.script_load(SET_MANY_LUA)
        self._sha = sha.encode() if isinstance(sha, str) else sha
        return self._sha

    def pack_set_many(self, sha: bytes, items: Sequence[tuple[str, bytes, int]]) -> list[bytes]:
        """RESP fragments of ``EVALSHA sha n key.. (ttl value)..`` for ``(key, value, ttl)`` items."""
        n = len(items)
        frags = [b"*%d\r\n$7\r\nEVALSHA\r\n" % (3 + 3 * n), _bulk(sha), _bulk(b"%d" % n)]
        key_frags = self._key_frags
        ttl_frags = self._ttl_frags
        append = frags.append
        for key, _, _ in items:
            frag = key_frags.get(key)
            append(frag if frag is not None else self._key_frag(key))
        for _, value, ttl in items:
            frag = ttl_frags.get(ttl)
            append(frag if frag is not None else self._ttl_frag(ttl))
            append(b"$%d\r\n%b\r\n" % (len(value), value))
        return frags

    async def set_many(self, items: Sequence[tuple[str, bytes, int]]) -> None:
        """
        ``SET key value EX ttl`` for every item, one round trip per :data:`MAX_KEYS_PER_CALL` keys.

        Raises one of :data:`REDIS_DOWN_ERRORS` when Redis is unreachable.
        """
        for start in range(0, len(items), MAX_KEYS_PER_CALL):
            await self._set_chunk(items[start : start + MAX_KEYS_PER_CALL])

    async def _set_chunk(self, items: Sequence[tuple[str, bytes, int]]) -> None:
        sha = self._sha or await self._load_script()
        for attempt in (1, 2):
            frags = self.pack_set_many(sha, items)
            try:
                reply = await self._call_packed(frags)
            except NoScriptError:
                if attempt == 2:
                    raise
                sha = await self._load_script()  # a restarted Redis forgot the script
                continue
            if reply != len(items):
                raise ResponseError(f"set_many wrote {reply!r} keys, expected {len(items)}")
            return

    async def _call_packed(self, frags: Iterable[bytes]) -> Any:
        # Batch writes come from one writer, one at a time: they keep one connection of the pool rather
        # than taking and returning it (with its health poll) on every flush.
        conn = self._write_conn
        if conn is None:
            conn = self._write_conn = await self.pool.get_connection()
        try:
            # One bytes object: the transport's writelines over hundreds of fragments costs more than a join.
            await conn.send_packed_command(b"".join(frags), check_health=False)
            return await conn.read_response()
        except ResponseError:
            raise  # an error reply: the connection itself is fine
        except BaseException:
            await conn.disconnect()  # reconnects on the next send
            raise

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
