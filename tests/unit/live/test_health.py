"""The /health and /metrics HTTP endpoint on loopback."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from arb_plugin.observability.health import CheckResult
from arb_plugin.observability.health import HealthServer
from arb_plugin.observability.health import engine_check
from arb_plugin.observability.health import ws_check
from arb_plugin.settings import ObservabilitySettings


async def _get(port: int, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{path}") as resp:
        return resp.status, resp.headers["Content-Type"], await resp.text()


def test_binds_loopback_by_default() -> None:
    assert ObservabilitySettings().health_host == "127.0.0.1"
    assert HealthServer({}).host == "127.0.0.1"


def test_health_200_then_503_naming_the_failing_check() -> None:
    ws_up = {"BINANCE": True}

    async def ok() -> CheckResult:
        return CheckResult(True, "PING 0.1 ms")

    async def run() -> None:
        server = HealthServer(
            {
                "redis": ok,
                "ws_binance": ws_check(lambda: (ws_up["BINANCE"], "1/1 connections active")),
                "engine": engine_check(lambda: True, lambda: "RUNNING"),
            },
            metrics_text=lambda: "arb_trades_per_minute 3\n",
            port=0,
        )
        port = await server.start()
        try:
            status, ctype, body = await _get(port, "/health")
            assert status == 200
            assert ctype == "application/json"
            report = json.loads(body)
            assert report["status"] == "ok"
            assert report["failing"] == []
            assert report["checks"]["ws_binance"] == {"ok": True, "detail": "1/1 connections active"}

            ws_up["BINANCE"] = False
            status, _, body = await _get(port, "/health")
            assert status == 503
            report = json.loads(body)
            assert report["status"] == "unhealthy"
            assert report["failing"] == ["ws_binance"]
            assert report["checks"]["redis"]["ok"] is True

            status, ctype, body = await _get(port, "/metrics")
            assert (status, body) == (200, "arb_trades_per_minute 3\n")
            assert ctype.startswith("text/plain; version=0.0.4")
            assert (await _get(port, "/nope"))[0] == 404
        finally:
            await server.stop()

    asyncio.run(run())


@pytest.mark.parametrize("kind", ["slow", "raises"])
def test_a_slow_or_broken_check_fails_without_hanging(kind: str) -> None:
    async def slow() -> CheckResult:
        await asyncio.sleep(10)
        return CheckResult(True, "never")

    async def raises() -> CheckResult:
        raise ConnectionRefusedError("connection refused")

    async def run() -> dict[str, object]:
        server = HealthServer({"postgres": slow if kind == "slow" else raises}, port=0, timeout_s=0.2)
        report = await server.evaluate()
        detail = report.checks["postgres"].detail
        return {"status": report.status, "failing": report.failing, "detail": detail}

    result = asyncio.run(run())
    assert result["status"] == "unhealthy"
    assert result["failing"] == ["postgres"]
    expected = "timeout after 0.2 s" if kind == "slow" else "ConnectionRefusedError: connection refused"
    assert result["detail"] == expected
