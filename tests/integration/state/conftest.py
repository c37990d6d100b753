"""Fixtures for the state tests: a migrated private schema, stores, key clean-up, a private redis-server."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis

from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.migrate import migrate
from arb_plugin.state.store import StateStore

pytestmark = pytest.mark.integration


@pytest.fixture
def schema(pg_schema: str, pg_dsn: str) -> str:
    """A private schema with every migration applied."""

    async def run() -> None:
        conn = await asyncpg.connect(pg_dsn)
        try:
            await migrate(conn, schema=pg_schema)
        finally:
            await conn.close()

    asyncio.run(run())
    return pg_schema


@pytest.fixture
def session_keys(unique_id: str, redis_url: str) -> Iterator[KeyBuilder]:
    """The test's session keyspace; its Redis keys are deleted afterwards (never FLUSHDB)."""
    keys = KeyBuilder("dev", unique_id)
    yield keys
    delete_session_keys(redis_url, keys)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A synchronous client of the test Redis, closed after the test (also when it fails)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def sid(session_keys: KeyBuilder) -> str:
    """The test's session id (its keyspace is cleaned up by ``session_keys``)."""
    assert session_keys.session_id is not None
    return session_keys.session_id


def delete_session_keys(url: str, keys: KeyBuilder) -> None:
    client = redis.Redis.from_url(url)
    try:
        found = list(client.scan_iter(match=keys.session_pattern(), count=1000))
        if found:
            client.delete(*found)
    except redis.ConnectionError:
        pass
    finally:
        client.close()


def make_store(
    keys: KeyBuilder,
    redis_url: str,
    pg_dsn: str,
    schema: str,
    problems: list[str] | None = None,
    **kwargs: object,
) -> StateStore:
    sink = problems.append if problems is not None else None
    return StateStore(keys, redis_url, pg_dsn, schema, on_problem=sink, **kwargs)  # type: ignore[arg-type]


def pg_fetch(dsn: str, schema: str, sql: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A private ``redis-server`` on a free loopback port that a test can kill and restart (no saves)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (make test installs it)")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)
        client.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


class StallingProxy:
    """
    A loopback TCP proxy (to Redis or PostgreSQL) that can stall: while stalled it holds what clients send
    (no reply comes), so a write is in flight for as long as the test wants; and can cut: every connection
    dropped and new ones refused, as if the server died. Runs its own loop on a thread.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        import threading

        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._resume = asyncio.Event()
        self._down = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._started = threading.Event()
        self.port = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._started.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._resume.set()
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers.update((writer, up_writer))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, gated: bool) -> None:
            try:
                while data := await src.read(65536):
                    if gated:
                        await self._resume.wait()
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stall(self) -> None:
        self._loop.call_soon_threadsafe(self._resume.clear)

    def cut(self) -> None:
        """Drop every connection and refuse new ones (the server looks down) until :meth:`restore`."""
        self._loop.call_soon_threadsafe(self._cut)

    def restore(self) -> None:
        self._loop.call_soon_threadsafe(self._restore)

    def _cut(self) -> None:
        self._down = True
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def _restore(self) -> None:
        self._down = False

    def resume(self) -> None:
        self._loop.call_soon_threadsafe(self._resume.set)

    def close(self) -> None:
        self.resume()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
