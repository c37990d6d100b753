"""
Client-side metering of Upbit's per-group rate limits (upbit-api.md §3).

Every REST answer carries ``Remaining-Req: group=<name>; min=<n>; sec=<n>``: ``sec`` is how many requests are
left in the current second for that group (``min`` is deprecated and ignored). The limiter keeps, per group:

- a sliding window at the documented limit (the prior: ``order`` 8/s, 12/s from 2026-08-21; ``default``
  30/s; quotation groups 10/s; ``order-cancel-all`` one per 2 s);
- the server's own count: after ``sec=0`` the group waits for the next window;
- a block: a 429 blocks the group for at least 1 s, doubling while 429s repeat (Upbit answers 418 to
  callers that keep going); a 418 blocks it for the period its body states.

Requests of one group queue in order behind an ``asyncio.Lock``; other groups are not held up.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime

from adapters.upbit.constants import UPBIT_429_BACKOFF_SECS
from adapters.upbit.constants import UPBIT_ORDER_RATE_CHANGE_AT
from adapters.upbit.constants import UPBIT_ORDER_RATE_PER_SEC_AFTER
from adapters.upbit.constants import UPBIT_ORDER_RATE_PER_SEC_BEFORE
from adapters.upbit.constants import UPBIT_RATE_LIMIT_PRIORS

_REMAINING_RE = re.compile(r"group=([A-Za-z0-9_\-]+)(?:.*?sec=(\d+))?")
_MAX_429_BACKOFF_SECS = 30.0


def parse_remaining_req(value: str | None) -> tuple[str, int | None] | None:
    """Return ``(group, sec)`` from a ``Remaining-Req`` header value (``None`` when unreadable)."""
    if not value:
        return None
    match = _REMAINING_RE.search(value)
    if match is None:
        return None
    sec = match.group(2)
    return match.group(1), int(sec) if sec is not None else None


def default_order_rate(now: datetime | None = None) -> float:
    """Return the documented ``order`` group limit in force at ``now`` (8/s, 12/s from 2026-08-21 KST)."""
    now = now or datetime.now(tz=UTC)
    if now >= UPBIT_ORDER_RATE_CHANGE_AT:
        return UPBIT_ORDER_RATE_PER_SEC_AFTER
    return UPBIT_ORDER_RATE_PER_SEC_BEFORE


class _GroupState:
    __slots__ = (
        "blocked_until",
        "consecutive_429",
        "lock",
        "max_requests",
        "sent",
        "server_remaining",
        "server_window_end",
        "window_secs",
    )

    def __init__(self, rate_per_sec: float) -> None:
        # 0.5/s -> one request per 2 s window; 8/s -> eight per 1 s window
        if rate_per_sec >= 1.0:
            self.max_requests = int(rate_per_sec)
            self.window_secs = 1.0
        else:
            self.max_requests = 1
            self.window_secs = 1.0 / rate_per_sec
        self.sent: deque[float] = deque()
        self.server_remaining: int | None = None
        self.server_window_end = 0.0
        self.blocked_until = 0.0
        self.consecutive_429 = 0
        self.lock = asyncio.Lock()


class UpbitRateLimiter:
    """
    Meters requests per ``Remaining-Req`` group.

    Parameters
    ----------
    priors : Mapping[str, float], optional
        Requests per second per group until the server says otherwise; default the documented limits.
    order_rate_per_sec : float, optional
        Override of the ``order`` group limit (default: 8/s, or 12/s on and after 2026-08-21 21:00 KST).
    default_rate_per_sec : float, default 10.0
        Limit of a group not in ``priors``.
    monotonic : Callable[[], float], optional
        Time source (seconds); default ``time.monotonic``.
    sleep : Callable[[float], Awaitable[None]], optional
        Sleep function; default ``asyncio.sleep``.

    """

    def __init__(
        self,
        priors: Mapping[str, float] | None = None,
        order_rate_per_sec: float | None = None,
        default_rate_per_sec: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._priors = dict(priors if priors is not None else UPBIT_RATE_LIMIT_PRIORS)
        self._priors["order"] = order_rate_per_sec or default_order_rate()
        self._default_rate = default_rate_per_sec
        self._monotonic = monotonic
        self._sleep = sleep
        self._groups: dict[str, _GroupState] = {}
        self.waits = 0  # how many times a request had to wait (observability)

    def rate_per_sec(self, group: str) -> float:
        """Return the prior limit of ``group`` (requests per second)."""
        return self._priors.get(group, self._default_rate)

    def _state(self, group: str) -> _GroupState:
        state = self._groups.get(group)
        if state is None:
            state = _GroupState(self.rate_per_sec(group))
            self._groups[group] = state
        return state

    def blocked_for(self, group: str) -> float:
        """Return how many seconds ``group`` stays blocked (0 when it is not)."""
        state = self._groups.get(group)
        if state is None:
            return 0.0
        return max(0.0, state.blocked_until - self._monotonic())

    async def acquire(self, group: str) -> None:
        """Wait until a request of ``group`` may be sent, then count it as sent."""
        state = self._state(group)
        async with state.lock:
            while True:
                now = self._monotonic()
                wait = state.blocked_until - now
                if wait <= 0 and state.server_remaining is not None:
                    if now >= state.server_window_end:
                        state.server_remaining = None
                    elif state.server_remaining <= 0:
                        wait = state.server_window_end - now
                if wait <= 0:
                    while state.sent and state.sent[0] <= now - state.window_secs:
                        state.sent.popleft()
                    if len(state.sent) >= state.max_requests:
                        wait = state.sent[0] + state.window_secs - now
                if wait <= 0:
                    break
                self.waits += 1
                await self._sleep(wait)
            state.sent.append(now)
            if state.server_remaining is not None:
                state.server_remaining -= 1

    def update(self, group: str, remaining_sec: int | None) -> None:
        """Record the server's ``sec`` count for ``group`` after an answer (a success clears 429 streaks)."""
        state = self._state(group)
        state.consecutive_429 = 0
        if remaining_sec is None:
            return
        now = self._monotonic()
        state.server_remaining = remaining_sec
        state.server_window_end = now + state.window_secs

    def on_too_many_requests(self, group: str) -> float:
        """Block ``group`` after a 429 and return the back-off (>= 1 s, doubling on repeats, <= 30 s)."""
        state = self._state(group)
        state.consecutive_429 += 1
        backoff = min(_MAX_429_BACKOFF_SECS, UPBIT_429_BACKOFF_SECS * 2 ** (state.consecutive_429 - 1))
        self.block(group, backoff)
        return backoff

    def block(self, group: str, secs: float) -> None:
        """Stop every request of ``group`` for ``secs`` (a 418 gives the period in its body)."""
        state = self._state(group)
        state.blocked_until = max(state.blocked_until, self._monotonic() + secs)
        state.server_remaining = None
