"""
The Upbit HTTP client: signed and public requests, rate metering, error mapping.

One client is shared by the data client, the execution client and the instrument provider of a node (see
``factories.py``). Quotation endpoints are public; exchange endpoints carry ``Authorization: Bearer <JWT>``
with a fresh nonce and the ``query_hash`` of the unencoded query (GET/DELETE) or body (POST). POST bodies
are JSON with string values. The client never sends an ``Origin`` header (Upbit meters requests that carry
one at 1 per 10 s, per IP).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
from collections.abc import Mapping
from typing import Any

import aiohttp
import msgspec
import nautilus_trader
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import Logger
from yarl import URL

from adapters.upbit.auth import ParamValue
from adapters.upbit.auth import UpbitSigner
from adapters.upbit.auth import encode_query
from adapters.upbit.auth import flatten_params
from adapters.upbit.auth import hash_input
from adapters.upbit.credentials import mask_key
from adapters.upbit.enums import UpbitJwtAlgorithm
from adapters.upbit.http.error import UpbitError
from adapters.upbit.http.error import UpbitNetworkError
from adapters.upbit.http.error import UpbitPayloadError
from adapters.upbit.http.error import UpbitRateLimitError
from adapters.upbit.http.error import parse_error_response
from adapters.upbit.http.ratelimit import UpbitRateLimiter
from adapters.upbit.http.ratelimit import parse_remaining_req


class UpbitHttpResponse(msgspec.Struct, frozen=True):
    """A successful answer: status, body and headers (names in lower case)."""

    status: int
    body: bytes
    headers: dict[str, str]


class UpbitHttpClient:
    """
    Provides the Upbit asynchronous HTTP client (on aiohttp; see ``adapters.upbit`` for why).

    Parameters
    ----------
    clock : LiveClock
        The clock for the client.
    base_url : str
        The REST base URL without ``/v1`` (default ``https://api.upbit.com``).
    access_key : str, optional
        The Upbit access key; without keys only quotation endpoints work.
    secret_key : str, optional
        The Upbit secret key.
    jwt_algorithm : UpbitJwtAlgorithm, default HS512
        The JWT signing algorithm.
    rate_limiter : UpbitRateLimiter, optional
        The per-group limiter; default one with the documented limits.
    timeout_secs : float, default 10.0
        Total timeout of one request.
    max_retries : int, default 2
        Retries of a GET after a 429, a 5xx or a network error (writes are never retried here: the
        execution client decides, looking the order up first).
    proxy_url : str, optional
        An HTTP proxy.

    """

    def __init__(
        self,
        clock: LiveClock,
        base_url: str,
        access_key: str | None = None,
        secret_key: str | None = None,
        jwt_algorithm: UpbitJwtAlgorithm = UpbitJwtAlgorithm.HS512,
        rate_limiter: UpbitRateLimiter | None = None,
        timeout_secs: float = 10.0,
        max_retries: int = 2,
        proxy_url: str | None = None,
    ) -> None:
        self._clock = clock
        self._log = Logger(type(self).__name__)
        self._base_url = base_url.rstrip("/")
        self._signer = UpbitSigner(access_key, secret_key, jwt_algorithm) if access_key and secret_key else None
        self._access_key = access_key
        self._limiter = rate_limiter or UpbitRateLimiter()
        self._timeout = aiohttp.ClientTimeout(total=timeout_secs)
        self._max_retries = max_retries
        self._proxy_url = proxy_url
        self._headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
            "User-Agent": nautilus_trader.NAUTILUS_USER_AGENT,
        }
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self.last_server_time_ms: int | None = None  # from the Date header (whole seconds)
        self.last_receive_time_ms: int | None = None

    @property
    def base_url(self) -> str:
        """Return the REST base URL."""
        return self._base_url

    @property
    def has_credentials(self) -> bool:
        """Return whether the client can sign exchange requests."""
        return self._signer is not None

    @property
    def access_key_masked(self) -> str:
        """Return the access key with all but its ends hidden."""
        return mask_key(self._access_key)

    @property
    def rate_limiter(self) -> UpbitRateLimiter:
        """Return the rate limiter."""
        return self._limiter

    @property
    def signer(self) -> UpbitSigner | None:
        """Return the JWT signer (``None`` without keys); the private WebSocket signs its upgrade with it."""
        return self._signer

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            # skip_auto_headers: aiohttp adds no Origin anyway; keep ours the only defaults
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                skip_auto_headers=("User-Agent",),
            )
            self._session_loop = loop
        return self._session

    async def close(self) -> None:
        """Close the underlying session."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def send_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
        group: str = "default",
    ) -> bytes:
        """Send a public (quotation) request and return the body."""
        response = await self.request(method, path, params=params, group=group, signed=False)
        return response.body

    async def sign_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
        body: Mapping[str, str] | None = None,
        group: str = "default",
    ) -> bytes:
        """Send a signed (exchange) request and return the body."""
        response = await self.request(method, path, params=params, body=body, group=group, signed=True)
        return response.body

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
        body: Mapping[str, str] | None = None,
        group: str = "default",
        signed: bool = False,
    ) -> UpbitHttpResponse:
        """
        Send one request, metered by ``group``; GETs are retried after a 429, a 5xx or a network error.

        Raises
        ------
        UpbitError
            For a 4xx/5xx answer (``UpbitRateLimitError`` for 429/418) or no answer (``UpbitNetworkError``).

        """
        attempts = self._max_retries + 1 if method == "GET" else 1
        for attempt in range(attempts):
            try:
                return await self._request_once(method, path, params, body, group, signed)
            except UpbitError as e:
                retryable = isinstance(e, UpbitRateLimitError) or e.status >= 500 or e.status == 0
                if attempt + 1 >= attempts or not retryable:
                    raise
                self._log.warning(f"{method} {path}: {e}; retry {attempt + 1}/{self._max_retries}")
                if not isinstance(e, UpbitRateLimitError):  # the limiter already holds the group back
                    await asyncio.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    async def _request_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, ParamValue] | None,
        body: Mapping[str, str] | None,
        group: str,
        signed: bool,
    ) -> UpbitHttpResponse:
        pairs = flatten_params(params)
        headers: dict[str, str] = {}
        data: bytes | None = None
        if body is not None:
            body_pairs = [(k, v) for k, v in body.items() if v is not None]
            data = msgspec.json.encode(dict(body_pairs))
            headers["Content-Type"] = "application/json; charset=utf-8"
            hash_query = hash_input(body_pairs)
        else:
            hash_query = hash_input(pairs)
        if signed:
            if self._signer is None:
                raise UpbitError(0, "no_credentials", f"{method} {path} needs UPBIT_ACCESS_KEY/UPBIT_SECRET_KEY")
            headers["Authorization"] = self._signer.authorization(hash_query)
        url = self._base_url + path
        if pairs:
            url += "?" + encode_query(pairs)

        await self._limiter.acquire(group)
        session = self._get_session()
        try:
            async with session.request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=data,
                proxy=self._proxy_url,
            ) as resp:
                payload = await resp.read()
                status = resp.status
                resp_headers = {k.lower(): v for k, v in resp.headers.items()}
        except TimeoutError as e:
            raise UpbitNetworkError(f"timeout after {self._timeout.total}s: {method} {path}", True) from e
        except aiohttp.ClientConnectorError as e:
            raise UpbitNetworkError(f"cannot connect: {e}", False) from e
        except aiohttp.ClientError as e:
            raise UpbitNetworkError(f"connection lost: {e!r}", True) from e

        self._record(resp_headers, group, status)
        if status >= 400:
            error = parse_error_response(status, payload, resp_headers, group)
            if isinstance(error, UpbitRateLimitError):
                if status == 418:
                    self._limiter.block(error.group or group, error.block_secs)
                    self._log.error(f"{method} {path}: HTTP 418, group '{group}' blocked for {error.block_secs}s")
                else:
                    backoff = self._limiter.on_too_many_requests(error.group or group)
                    self._log.warning(f"{method} {path}: HTTP 429, group '{group}' backs off {backoff}s")
            raise error
        return UpbitHttpResponse(status=status, body=payload, headers=resp_headers)

    def _record(self, headers: Mapping[str, str], group: str, status: int) -> None:
        self.last_receive_time_ms = self._clock.timestamp_ms()
        date = headers.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self.last_server_time_ms = int(email.utils.parsedate_to_datetime(date).timestamp() * 1000)
        if status in (418, 429):
            return
        remaining = parse_remaining_req(headers.get("remaining-req"))
        if remaining is not None:
            header_group, sec = remaining
            self._limiter.update(header_group, sec)
            if header_group != group:
                self._log.debug(f"Remaining-Req group '{header_group}' for a request metered as '{group}'")


def decode(decoder: msgspec.json.Decoder[Any], raw: bytes, what: str) -> Any:
    """Decode a 2xx body with ``decoder``, raising ``UpbitPayloadError`` that names ``what`` on a bad payload."""
    try:
        return decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise UpbitPayloadError(f"{what}: {e} (body {raw[:200]!r})") from e
