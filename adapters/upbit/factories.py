"""
Factories for the Upbit live clients, with one shared HTTP client and instrument provider per node.

Keys come from the config, else from ``UPBIT_ACCESS_KEY`` / ``UPBIT_SECRET_KEY``; the data factory reads
the same variables, so a data client and an execution client with default configs share one HTTP client
(one rate-limit budget) and one provider (one ``/v1/market/all`` load).
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.live.factories import LiveExecClientFactory
from nautilus_trader.model.identifiers import Venue

from adapters.upbit.config import UpbitDataClientConfig
from adapters.upbit.config import UpbitExecClientConfig
from adapters.upbit.constants import UPBIT_BASE_URL_HTTP
from adapters.upbit.constants import UPBIT_BASE_URL_WS
from adapters.upbit.constants import UPBIT_BASE_URL_WS_PRIVATE
from adapters.upbit.credentials import get_access_key
from adapters.upbit.credentials import get_secret_key
from adapters.upbit.data import UpbitDataClient
from adapters.upbit.enums import UpbitJwtAlgorithm
from adapters.upbit.execution import UpbitExecutionClient
from adapters.upbit.http.client import UpbitHttpClient
from adapters.upbit.http.ratelimit import UpbitRateLimiter
from adapters.upbit.providers import UpbitInstrumentProvider


@lru_cache(1)
def get_cached_upbit_http_client(
    clock: LiveClock,
    access_key: str | None = None,
    secret_key: str | None = None,
    base_url: str | None = None,
    jwt_algorithm: UpbitJwtAlgorithm = UpbitJwtAlgorithm.HS512,
    timeout_secs: float = 10.0,
    order_rate_per_sec: float | None = None,
    proxy_url: str | None = None,
) -> UpbitHttpClient:
    """
    Cache and return an Upbit HTTP client (one per clock, keys and base URL).

    Parameters
    ----------
    clock : LiveClock
        The clock for the client.
    access_key, secret_key : str, optional
        The API keys (quotation endpoints work without them).
    base_url : str, optional
        The REST base URL (default ``https://api.upbit.com``).
    jwt_algorithm : UpbitJwtAlgorithm, default HS512
        The JWT signing algorithm.
    timeout_secs : float, default 10.0
        Total timeout of one request.
    order_rate_per_sec : float, optional
        Override of the ``order`` group limit.
    proxy_url : str, optional
        An HTTP proxy.

    Returns
    -------
    UpbitHttpClient

    """
    return UpbitHttpClient(
        clock=clock,
        base_url=base_url or UPBIT_BASE_URL_HTTP,
        access_key=access_key,
        secret_key=secret_key,
        jwt_algorithm=jwt_algorithm,
        rate_limiter=UpbitRateLimiter(order_rate_per_sec=order_rate_per_sec),
        timeout_secs=timeout_secs,
        proxy_url=proxy_url,
    )


@lru_cache(1)
def get_cached_upbit_instrument_provider(
    client: UpbitHttpClient,
    clock: LiveClock,
    config: InstrumentProviderConfig,
    venue: Venue,
) -> UpbitInstrumentProvider:
    """
    Cache and return the Upbit instrument provider (shared by the data and execution clients).

    Parameters
    ----------
    client : UpbitHttpClient
        The HTTP client for the provider.
    clock : LiveClock
        The clock for the provider.
    config : InstrumentProviderConfig
        The provider configuration.
    venue : Venue
        The venue of the instrument ids.

    Returns
    -------
    UpbitInstrumentProvider

    """
    return UpbitInstrumentProvider(client=client, clock=clock, config=config, venue=venue)


def _http_client(
    clock: LiveClock,
    config: UpbitDataClientConfig | UpbitExecClientConfig,
) -> UpbitHttpClient:
    return get_cached_upbit_http_client(
        clock=clock,
        access_key=config.access_key or get_access_key(),
        secret_key=config.secret_key or get_secret_key(),
        base_url=config.base_url_http,
        jwt_algorithm=config.jwt_algorithm,
        timeout_secs=config.http_timeout_secs,
        order_rate_per_sec=config.order_rate_per_sec,
        proxy_url=config.proxy_url,
    )


class UpbitLiveDataClientFactory(LiveDataClientFactory):
    """Provides an Upbit live data client factory."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: UpbitDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> UpbitDataClient:
        """
        Create a new Upbit data client.

        Parameters
        ----------
        loop : asyncio.AbstractEventLoop
            The event loop for the client.
        name : str
            The custom client ID.
        config : UpbitDataClientConfig
            The client configuration.
        msgbus : MessageBus
            The message bus for the client.
        cache : Cache
            The cache for the client.
        clock : LiveClock
            The clock for the client.

        Returns
        -------
        UpbitDataClient

        """
        client = _http_client(clock, config)
        provider = get_cached_upbit_instrument_provider(
            client=client,
            clock=clock,
            config=config.instrument_provider,
            venue=config.venue,
        )
        return UpbitDataClient(
            loop=loop,
            client=client,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=provider,
            base_url_ws=config.base_url_ws or UPBIT_BASE_URL_WS,
            config=config,
            name=name,
        )


class UpbitLiveExecClientFactory(LiveExecClientFactory):
    """Provides an Upbit live execution client factory."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: UpbitExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> UpbitExecutionClient:
        """
        Create a new Upbit execution client.

        Parameters
        ----------
        loop : asyncio.AbstractEventLoop
            The event loop for the client.
        name : str
            The custom client ID.
        config : UpbitExecClientConfig
            The client configuration.
        msgbus : MessageBus
            The message bus for the client.
        cache : Cache
            The cache for the client.
        clock : LiveClock
            The clock for the client.

        Returns
        -------
        UpbitExecutionClient

        Raises
        ------
        ValueError
            If no API keys are configured or set in the environment.

        """
        client = _http_client(clock, config)
        if not client.has_credentials:
            raise ValueError(
                "Upbit execution needs API keys: set UPBIT_ACCESS_KEY and UPBIT_SECRET_KEY "
                "(or access_key/secret_key on UpbitExecClientConfig)",
            )
        provider = get_cached_upbit_instrument_provider(
            client=client,
            clock=clock,
            config=config.instrument_provider,
            venue=config.venue,
        )
        return UpbitExecutionClient(
            loop=loop,
            client=client,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=provider,
            base_url_ws_private=config.base_url_ws_private or UPBIT_BASE_URL_WS_PRIVATE,
            config=config,
            name=name,
        )
