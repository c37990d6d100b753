"""Per-group metering from Remaining-Req, 429 back-off and 418 blocks (on a simulated clock)."""

from __future__ import annotations

import asyncio
from datetime import UTC
from datetime import datetime

from adapters.upbit.http.error import UpbitRateLimitError
from adapters.upbit.http.error import parse_block_secs
from adapters.upbit.http.error import parse_error_response
from adapters.upbit.http.ratelimit import UpbitRateLimiter
from adapters.upbit.http.ratelimit import default_order_rate
from adapters.upbit.http.ratelimit import parse_remaining_req


class SimClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, secs: float) -> None:
        self.sleeps.append(secs)
        self.now += secs


def _limiter(clock: SimClock, order_rate: float | None = None) -> UpbitRateLimiter:
    return UpbitRateLimiter(order_rate_per_sec=order_rate, monotonic=clock.monotonic, sleep=clock.sleep)


def test_prior_limits_order_group_8_per_second() -> None:
    clock = SimClock()
    limiter = _limiter(clock, order_rate=8)

    async def run() -> None:
        for _ in range(16):
            await limiter.acquire("order")

    asyncio.run(run())
    # the ninth request had to wait for the window to roll; 16 requests take about 1 s
    assert len(clock.sleeps) == 1
    assert abs(sum(clock.sleeps) - 1.0) < 1e-9


def test_order_rate_changes_on_2026_08_21() -> None:
    assert default_order_rate(datetime(2026, 8, 21, 11, 59, tzinfo=UTC)) == 8.0
    assert default_order_rate(datetime(2026, 8, 21, 12, 0, tzinfo=UTC)) == 12.0  # 21:00 KST
    assert UpbitRateLimiter(order_rate_per_sec=12).rate_per_sec("order") == 12


def test_cancel_all_one_per_two_seconds() -> None:
    clock = SimClock()
    limiter = _limiter(clock)

    async def run() -> None:
        await limiter.acquire("order-cancel-all")
        await limiter.acquire("order-cancel-all")

    asyncio.run(run())
    assert clock.sleeps == [2.0]


def test_server_count_zero_waits_for_next_window() -> None:
    clock = SimClock()
    limiter = _limiter(clock)

    async def run() -> None:
        await limiter.acquire("default")
        limiter.update("default", 0)  # header said sec=0: nothing left this second
        await limiter.acquire("default")

    asyncio.run(run())
    assert clock.sleeps == [1.0]


def test_server_count_is_honoured_below_the_prior() -> None:
    clock = SimClock()
    limiter = _limiter(clock)

    async def run() -> None:
        await limiter.acquire("ticker")
        limiter.update("ticker", 2)
        for _ in range(3):
            await limiter.acquire("ticker")

    asyncio.run(run())
    assert len(clock.sleeps) == 1  # 2 allowed by the server's count, the third waits


def test_429_backs_off_at_least_one_second_and_doubles() -> None:
    clock = SimClock()
    limiter = _limiter(clock)
    assert limiter.on_too_many_requests("order") == 1.0
    assert limiter.on_too_many_requests("order") == 2.0
    assert limiter.blocked_for("order") == 2.0
    assert limiter.blocked_for("default") == 0.0  # other groups go on

    async def run() -> None:
        await limiter.acquire("order")

    asyncio.run(run())
    assert clock.sleeps == [2.0]
    limiter.update("order", 5)  # a success resets the streak
    assert limiter.on_too_many_requests("order") == 1.0


def test_418_blocks_the_group_for_the_stated_period() -> None:
    error = parse_error_response(418, "요청 제한으로 600초 동안 차단되었습니다".encode(), {}, "order")
    assert isinstance(error, UpbitRateLimitError)
    assert error.block_secs == 600.0
    clock = SimClock()
    limiter = _limiter(clock)
    limiter.block("order", error.block_secs)

    async def run() -> None:
        await limiter.acquire("order")

    asyncio.run(run())
    assert clock.sleeps == [600.0]


def test_block_duration_parsing() -> None:
    assert parse_block_secs("blocked for 2 minutes") == 120.0
    assert parse_block_secs("Too many requests, blocked 30 seconds") == 30.0
    assert parse_block_secs("no number here") is None
    error = parse_error_response(418, b"I'm a teapot", {}, "default")
    assert isinstance(error, UpbitRateLimitError)
    assert error.block_secs == 60.0  # unreadable body: a conservative default


def test_429_plain_text_body() -> None:
    error = parse_error_response(429, b"Too many API requests.", {}, "order")
    assert isinstance(error, UpbitRateLimitError)
    assert error.error_name == "too_many_requests"
    assert error.message == "Too many API requests."


def test_remaining_req_parsing() -> None:
    assert parse_remaining_req("group=order; min=480; sec=7") == ("order", 7)
    assert parse_remaining_req("group=crix-trades; min=600; sec=9") == ("crix-trades", 9)
    assert parse_remaining_req("group=websocket") == ("websocket", None)
    assert parse_remaining_req("garbage") is None
    assert parse_remaining_req(None) is None
