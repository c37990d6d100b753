"""
Shared fixtures. Tests use the real services on 127.0.0.1 (``make test`` makes sure they answer):

- Redis on 6379 (``ARB_TEST_REDIS_URL`` overrides); each test gets a unique id to namespace its keys.
- PostgreSQL on 5432, database ``test`` (``ARB_TEST_PG_DSN`` overrides); ``pg_schema`` gives each test
  its own schema (dropped afterwards), so parallel suites never see each other's tables.

Real data lives in ``../shared`` (``ARB_SHARED_DIR`` overrides), exactly as CI has it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("ARB_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()
MARKET_DIR = SHARED_DIR / "data" / "market"
UPBIT_FIXTURES = SHARED_DIR / "fixtures" / "upbit"
REDIS_URL = os.environ.get("ARB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_DSN = os.environ.get("ARB_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"shared data folder not found at {SHARED_DIR} (set ARB_SHARED_DIR)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def market_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "market"


@pytest.fixture(scope="session")
def upbit_fixtures(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "upbit"


@pytest.fixture
def unique_id() -> str:
    """A fresh id for namespacing Redis keys, session ids and schemas in one test."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    return PG_DSN


@pytest.fixture
def pg_schema(unique_id: str) -> Iterator[str]:
    """A fresh PostgreSQL schema in the test database; connect with ``server_settings={"search_path": it}``."""
    import asyncpg

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE SCHEMA "{unique_id}"'))
    try:
        yield unique_id
    finally:
        asyncio.run(run(f'DROP SCHEMA IF EXISTS "{unique_id}" CASCADE'))
