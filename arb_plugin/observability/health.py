"""
HTTP health check and metrics endpoint (SPEC: "Health check endpoint ... 200 when healthy, 503 otherwise").

- ``GET /health``: runs every check concurrently (each bounded by a timeout) and answers ``200`` when all
  pass, ``503`` otherwise, with the JSON of the checks, e.g.
  ``{"status": "unhealthy", "failing": ["ws_binance"], "checks": {"redis": {"ok": true, ...}, ...}}``.
- ``GET /metrics``: the :class:`MetricsCollector`'s figures in Prometheus text format.

The server is a few lines on ``asyncio.start_server`` (no web framework), runs on the node's event loop and
binds ``127.0.0.1`` unless configured otherwise. Checks are plain async callables; this module provides
the ones the node uses: Redis ``PING``, PostgreSQL ``SELECT 1``, a venue's WebSocket connection state and
the engine's status.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

import msgspec


class CheckResult(msgspec.Struct, frozen=True):
    """The outcome of one check."""

    ok: bool
    detail: str


HealthCheck = Callable[[], Awaitable[CheckResult]]


class HealthReport(msgspec.Struct, frozen=True):
    """The body of ``/health``."""

    status: str  # "ok" | "unhealthy"
    failing: list[str]
    checks: dict[str, CheckResult]
    ts: int


class HealthServer:
    """
    Serve ``/health`` and ``/metrics``.

    Parameters
    ----------
    checks : dict[str, HealthCheck]
        Named checks (``redis``, ``postgres``, ``ws_binance``, ``ws_upbit``, ``engine``, ...).
    metrics_text : Callable[[], str], optional
        Returns the Prometheus text for ``/metrics``.
    host, port : str, int
        Where to listen (port 0: any free port; see :attr:`port` after :meth:`start`).
    timeout_s : float
        Each check's time limit; a check that exceeds it fails with ``timeout``.
    """

    def __init__(
        self,
        checks: dict[str, HealthCheck],
        metrics_text: Callable[[], str] | None = None,
        host: str = "127.0.0.1",
        port: int = 8080,
        timeout_s: float = 0.5,
    ) -> None:
        self.checks = dict(checks)
        self._metrics_text = metrics_text
        self.host = host
        self.port = port
        self._timeout = timeout_s
        self._server: asyncio.Server | None = None
        self._encoder = msgspec.json.Encoder()

    async def start(self) -> int:
        """Start listening; return the bound port."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def evaluate(self) -> HealthReport:
        """Run every check concurrently, each with the timeout."""
        names = list(self.checks)
        results = await asyncio.gather(*(self._run(self.checks[n]) for n in names))
        checks = dict(zip(names, results, strict=True))
        failing = [n for n, r in checks.items() if not r.ok]
        return HealthReport("unhealthy" if failing else "ok", failing, checks, time.time_ns())

    async def _run(self, check: HealthCheck) -> CheckResult:
        try:
            return await asyncio.wait_for(check(), self._timeout)
        except TimeoutError:
            return CheckResult(False, f"timeout after {self._timeout:g} s")
        except Exception as e:
            return CheckResult(False, f"{type(e).__name__}: {e}")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            method, path, *_ = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            path = path.split("?", 1)[0]
            if method not in ("GET", "HEAD"):
                status, ctype, body = 405, "text/plain", b"method not allowed\n"
            elif path == "/health":
                report = await self.evaluate()
                status = 200 if report.status == "ok" else 503
                ctype, body = "application/json", self._encoder.encode(report)
            elif path == "/metrics" and self._metrics_text is not None:
                status, ctype = 200, "text/plain; version=0.0.4; charset=utf-8"
                body = self._metrics_text().encode()
            else:
                status, ctype, body = 404, "text/plain", b"not found\n"
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
            head = (
                f"HTTP/1.1 {status} {reason[status]}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            writer.write(head if method == "HEAD" else head + body)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError,
                ValueError):
            pass  # a client that disconnects or sends garbage gets nothing
        finally:
            writer.close()


# -- checks ---------------------------------------------------------------------------------------------


def redis_check(redis_url: str) -> HealthCheck:
    """``PING`` through one lazily created ``redis.asyncio`` client."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)

    async def check() -> CheckResult:
        t0 = time.perf_counter()
        await client.execute_command("PING")
        return CheckResult(True, f"PING {1000 * (time.perf_counter() - t0):.2f} ms")

    return check


def postgres_check(dsn: str, server_settings: dict[str, str] | None = None) -> HealthCheck:
    """``SELECT 1`` on one kept-open connection (reopened after a failure)."""
    import asyncpg

    state: dict[str, Any] = {"conn": None}

    async def check() -> CheckResult:
        t0 = time.perf_counter()
        conn = state["conn"]
        try:
            if conn is None or conn.is_closed():
                conn = state["conn"] = await asyncpg.connect(dsn, timeout=1, server_settings=server_settings)
            await conn.fetchval("SELECT 1")
        except BaseException:
            state["conn"] = None
            if conn is not None:
                conn.terminate()
            raise
        return CheckResult(True, f"SELECT 1 {1000 * (time.perf_counter() - t0):.2f} ms")

    return check


def ws_check(state: Callable[[], tuple[bool, str]]) -> HealthCheck:
    """Wrap a synchronous WebSocket state probe (``(connected, detail)``)."""

    async def check() -> CheckResult:
        ok, detail = state()
        return CheckResult(ok, detail)

    return check


def engine_check(is_running: Callable[[], bool], detail: Callable[[], str]) -> HealthCheck:
    """The trading engine's status (running or not)."""

    async def check() -> CheckResult:
        return CheckResult(is_running(), detail())

    return check
