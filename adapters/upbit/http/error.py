"""
Upbit HTTP errors and their mapping from responses (upbit-api.md §3, §4).

Every error body is ``{"error":{"name":<string|int>,"message":<string>}}``: exchange errors carry a string
code (``insufficient_funds_bid``), quotation errors the HTTP status as an int (``404 Code not found``).
Messages are Korean and change over time, so code branches on :attr:`UpbitError.error_name`, never on text.
A 429 may come as plain text; a 418 says in its body for how long the caller is blocked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import msgspec

from adapters.upbit.constants import UPBIT_418_DEFAULT_BLOCK_SECS
from adapters.upbit.schemas.error import UpbitErrorMsg


class UpbitErrorName:
    """Error codes the adapter branches on (string ``error.name`` values)."""

    INSUFFICIENT_FUNDS_BID: Final = "insufficient_funds_bid"
    INSUFFICIENT_FUNDS_ASK: Final = "insufficient_funds_ask"
    UNDER_MIN_TOTAL_BID: Final = "under_min_total_bid"
    UNDER_MIN_TOTAL_ASK: Final = "under_min_total_ask"
    INVALID_PRICE_BID: Final = "invalid_price_bid"
    INVALID_PRICE_ASK: Final = "invalid_price_ask"
    VALIDATION_ERROR: Final = "validation_error"
    ORDER_NOT_FOUND: Final = "order_not_found"
    INVALID_QUERY_PAYLOAD: Final = "invalid_query_payload"
    JWT_VERIFICATION: Final = "jwt_verification"
    INVALID_ACCESS_KEY: Final = "invalid_access_key"
    EXPIRED_ACCESS_KEY: Final = "expired_access_key"
    NONCE_USED: Final = "nonce_used"
    NO_AUTHORIZATION_IP: Final = "no_authorization_ip"
    NO_AUTHORIZATION_TOKEN: Final = "no_authorization_token"
    OUT_OF_SCOPE: Final = "out_of_scope"
    MARKET_OFFLINE: Final = "market_offline"
    TOO_MANY_REQUESTS: Final = "too_many_requests"  # our name for a 429 (the body has none)
    BLOCKED: Final = "blocked"  # our name for a 418 (the body has none)


AUTH_ERRORS: Final[frozenset[str]] = frozenset(
    {
        UpbitErrorName.INVALID_QUERY_PAYLOAD,
        UpbitErrorName.JWT_VERIFICATION,
        UpbitErrorName.INVALID_ACCESS_KEY,
        UpbitErrorName.EXPIRED_ACCESS_KEY,
        UpbitErrorName.NONCE_USED,
        UpbitErrorName.NO_AUTHORIZATION_IP,
        UpbitErrorName.NO_AUTHORIZATION_TOKEN,
        UpbitErrorName.OUT_OF_SCOPE,
    },
)


class UpbitError(Exception):
    """
    Base class of every Upbit request error.

    Parameters
    ----------
    status : int
        The HTTP status (0 when no response was received).
    name : str or int, optional
        ``error.name`` from the body.
    message : str, optional
        ``error.message`` (or the raw body text).
    headers : Mapping[str, str], optional
        The response headers.

    """

    def __init__(
        self,
        status: int,
        name: str | int | None,
        message: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.name = name
        self.message = message
        self.headers = dict(headers or {})
        super().__init__(str(self))

    @property
    def error_name(self) -> str:
        """Return the Upbit error code, or ``http_<status>`` when the body has none."""
        return str(self.name) if self.name is not None else f"http_{self.status}"

    @property
    def is_ambiguous(self) -> bool:
        """Return whether the request may have been executed although it failed (timeouts, 5xx)."""
        return False

    def __str__(self) -> str:
        text = f"{self.error_name}: {self.message}" if self.message else self.error_name
        return f"{text} (HTTP {self.status})" if self.status else text


class UpbitClientError(UpbitError):
    """A 4xx answer: the request was refused and not executed."""


class UpbitServerError(UpbitError):
    """A 5xx answer: whether a write was executed is unknown."""

    @property
    def is_ambiguous(self) -> bool:
        return True


class UpbitPayloadError(UpbitError):
    """
    A 2xx answer whose body does not decode (an unexpected shape or value).

    Upbit executed the request: a write took effect although its answer cannot be read, so callers treat it
    like a lost answer (ambiguous), never as a refusal.
    """

    def __init__(self, message: str) -> None:
        super().__init__(0, "bad_payload", message)

    @property
    def is_ambiguous(self) -> bool:
        return True


class UpbitRateLimitError(UpbitClientError):
    """A 429 (back off) or 418 (blocked for ``block_secs``) answer for one rate-limit ``group``."""

    def __init__(
        self,
        status: int,
        name: str | int | None,
        message: str | None,
        headers: Mapping[str, str] | None = None,
        group: str | None = None,
        block_secs: float = 0.0,
    ) -> None:
        self.group = group
        self.block_secs = block_secs
        super().__init__(status, name, message, headers)


class UpbitNetworkError(UpbitError):
    """
    No HTTP answer: a timeout or a dropped connection.

    ``maybe_sent`` is False only when the connection could not be opened, so the request never left.
    """

    def __init__(self, message: str, maybe_sent: bool) -> None:
        self.maybe_sent = maybe_sent
        super().__init__(0, "timeout" if "timeout" in message.lower() else "network_error", message)

    @property
    def is_ambiguous(self) -> bool:
        return self.maybe_sent


_ERROR_DECODER = msgspec.json.Decoder(UpbitErrorMsg)
_BLOCK_RE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(초|seconds?|secs?|s\b|분|minutes?|mins?|m\b|시간|hours?|h\b)",
    re.IGNORECASE,
)
_UNIT_SECS = {"초": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0}
_UNIT_SECS.update({"분": 60.0, "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0})
_UNIT_SECS.update({"시간": 3600.0, "h": 3600.0, "hour": 3600.0, "hours": 3600.0})


def parse_block_secs(text: str) -> float | None:
    """Return the block duration a 418 body states (``"... 30초 ..."``, ``"blocked for 2 minutes"``)."""
    match = _BLOCK_RE.search(text)
    if match is None:
        return None
    return float(match.group(1)) * _UNIT_SECS.get(match.group(2).lower(), 1.0)


def parse_error_body(body: bytes) -> tuple[str | int | None, str | None]:
    """Return ``(error.name, error.message)`` from a body; a non-JSON body becomes the message."""
    try:
        msg = _ERROR_DECODER.decode(body)
        return msg.error.name, msg.error.message
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = body.decode("utf-8", errors="replace").strip()
        return None, text[:500] or None


def parse_error_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    group: str | None,
) -> UpbitError:
    """Return the error for an HTTP answer with ``status >= 400``."""
    name, message = parse_error_body(body)
    if status == 429:
        return UpbitRateLimitError(
            status,
            name if name is not None else UpbitErrorName.TOO_MANY_REQUESTS,
            message,
            headers,
            group=group,
        )
    if status == 418:
        block = parse_block_secs(message or "") or UPBIT_418_DEFAULT_BLOCK_SECS
        return UpbitRateLimitError(
            status,
            name if name is not None else UpbitErrorName.BLOCKED,
            message,
            headers,
            group=group,
            block_secs=block,
        )
    if status >= 500:
        return UpbitServerError(status, name, message, headers)
    return UpbitClientError(status, name, message, headers)
