"""Fixtures for the live-node integration tests: real Redis, real PostgreSQL (private schema)."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator

import asyncpg
import pytest
import redis

from arb_plugin.state.migrate import migrate


async def pg_fetch(dsn: str, schema: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


@pytest.fixture(autouse=True)
def _open_event_loop_after() -> Iterator[None]:
    """A disposed NautilusTrader node closes its event loop: leave an open one current for later tests."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            closed = asyncio.get_event_loop_policy().get_event_loop().is_closed()
        except RuntimeError:
            closed = True
    if closed:
        asyncio.set_event_loop(asyncio.new_event_loop())


@pytest.fixture
def logs_schema(pg_dsn: str, pg_schema: str) -> str:
    """A private schema with every migration applied (``system_logs`` among the tables)."""

    async def create() -> None:
        conn = await asyncpg.connect(pg_dsn)
        try:
            await migrate(conn, schema=pg_schema)
        finally:
            await conn.close()

    asyncio.run(create())
    return pg_schema


@pytest.fixture
def redis_client(redis_url: str, unique_id: str) -> Iterator[redis.Redis]:
    """A Redis client; every key containing the test's unique id is deleted afterwards."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        keys = list(client.scan_iter(match=f"*{unique_id}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
