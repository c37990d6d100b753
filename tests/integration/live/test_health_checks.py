"""The Redis and PostgreSQL health checks against the real services (and an unreachable one)."""

from __future__ import annotations

import asyncio

import pytest

from arb_plugin.observability.health import HealthServer
from arb_plugin.observability.health import postgres_check
from arb_plugin.observability.health import redis_check

pytestmark = pytest.mark.integration


def test_dependency_checks(redis_url: str, pg_dsn: str) -> None:
    async def run() -> dict[str, tuple[bool, str]]:
        server = HealthServer(
            {
                "redis": redis_check(redis_url),
                "postgres": postgres_check(pg_dsn),
                "redis_down": redis_check("redis://127.0.0.1:1/0"),
                "postgres_down": postgres_check("postgresql://postgres@127.0.0.1:1/test"),
            },
            timeout_s=2,
        )
        report = await server.evaluate()
        again = await server.evaluate()  # the kept-open PostgreSQL connection is reused
        assert again.checks["postgres"].ok
        return {name: (r.ok, r.detail) for name, r in report.checks.items()}

    checks = asyncio.run(run())
    assert checks["redis"][0] and checks["redis"][1].startswith("PING ")
    assert checks["postgres"][0] and checks["postgres"][1].startswith("SELECT 1 ")
    assert checks["redis_down"][0] is False
    assert checks["postgres_down"][0] is False
    assert "refused" in checks["postgres_down"][1].lower() or "connect" in checks["postgres_down"][1].lower()
