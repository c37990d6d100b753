"""Fixtures for the live-node integration tests: real Redis, real PostgreSQL (private schema)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
import redis

# The ``system_logs`` table exactly as the state store's migration 0001 defines it. Used until that
# migration is on main; then the tests apply the migrations to their private schema instead.
SYSTEM_LOGS_DDL = """
CREATE TABLE system_logs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    level      text        NOT NULL,
    category   text        NOT NULL,
    logger     text,
    message    text        NOT NULL,
    data       jsonb
);
CREATE INDEX system_logs_session_created_idx ON system_logs (session_id, created_at);
CREATE INDEX system_logs_created_desc_idx ON system_logs (created_at DESC);
"""


async def pg_fetch(dsn: str, schema: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


@pytest.fixture
def logs_schema(pg_dsn: str, pg_schema: str) -> str:
    """A private schema holding ``system_logs``."""

    async def create() -> None:
        conn = await asyncpg.connect(pg_dsn, server_settings={"search_path": pg_schema})
        try:
            await conn.execute(SYSTEM_LOGS_DDL)
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
