"""Configuration of the Upbit data client, execution client and instrument provider."""

from __future__ import annotations

from typing import Literal

from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LiveDataClientConfig
from nautilus_trader.config import LiveExecClientConfig
from nautilus_trader.config import NonNegativeInt
from nautilus_trader.config import PositiveFloat
from nautilus_trader.config import PositiveInt
from nautilus_trader.model.identifiers import Venue

from adapters.upbit.constants import UPBIT_QUOTE_CURRENCIES
from adapters.upbit.constants import UPBIT_VENUE
from adapters.upbit.constants import UPBIT_WS_KEEPALIVE_SECS
from adapters.upbit.enums import UpbitJwtAlgorithm


class UpbitInstrumentProviderConfig(InstrumentProviderConfig, frozen=True):
    """
    Configuration for ``UpbitInstrumentProvider`` instances.

    Parameters
    ----------
    quote_currencies : tuple[str, ...], default ("KRW", "BTC", "USDT")
        The quote markets to load with ``load_all``.
    include_warning_markets : bool, default True
        Whether markets Upbit flags (``market_event.warning`` or a ``caution``) are loaded; their flags are
        kept in ``Instrument.info`` either way.
    query_order_chance : bool, default True
        With keys, read fees and order minimums from ``/v1/orders/chance`` (one call per quote market);
        without keys, or when False, the documented defaults are used.

    """

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UpbitInstrumentProviderConfig):
            return False
        return (
            self.load_all == other.load_all
            and self.load_ids == other.load_ids
            and self.filters == other.filters
            and self.quote_currencies == other.quote_currencies
            and self.include_warning_markets == other.include_warning_markets
            and self.query_order_chance == other.query_order_chance
        )

    def __hash__(self) -> int:
        filters = frozenset(self.filters.items()) if self.filters else None
        return hash(
            (
                self.load_all,
                self.load_ids,
                filters,
                self.quote_currencies,
                self.include_warning_markets,
                self.query_order_chance,
            ),
        )

    quote_currencies: tuple[str, ...] = UPBIT_QUOTE_CURRENCIES
    include_warning_markets: bool = True
    query_order_chance: bool = True


class UpbitDataClientConfig(LiveDataClientConfig, frozen=True):
    """
    Configuration for ``UpbitDataClient`` instances.

    Parameters
    ----------
    venue : Venue, default UPBIT_VENUE
        The venue for the client.
    access_key : str, optional
        The Upbit access key; ``None`` reads ``UPBIT_ACCESS_KEY`` (market data needs no keys, but with them
        the provider reads real fees and minimums).
    secret_key : str, optional
        The Upbit secret key; ``None`` reads ``UPBIT_SECRET_KEY``.
    jwt_algorithm : UpbitJwtAlgorithm, default HS512
        The JWT signing algorithm (HS256 also verifies).
    base_url_http : str, optional
        REST base URL override (default ``https://api.upbit.com``).
    base_url_ws : str, optional
        Public WebSocket URL override (default ``wss://api.upbit.com/websocket/v1``).
    base_url_ws_private : str, optional
        Private WebSocket URL override (used by the execution client; accepted here so one settings block
        can fill both configs).
    proxy_url : str, optional
        An HTTP proxy for REST and WebSocket.
    ws_format : {"DEFAULT", "SIMPLE"}, default "DEFAULT"
        The WebSocket payload format to request (SIMPLE abbreviates field names).
    http_timeout_secs : PositiveFloat, default 10.0
        Total timeout of one REST request.
    order_rate_per_sec : PositiveFloat, optional
        Override of the ``order`` group limit (default 8/s; 12/s from 2026-08-21 21:00 KST).
    update_instruments_interval_mins : PositiveInt, optional, default 1440
        How often instruments (tick sizes, warnings) are reloaded; ``None`` never.
    keepalive_secs : PositiveFloat, default 20.0
        Interval of protocol pings; the server closes sockets idle for about 60 s.
    reconnect_delay_initial_secs : PositiveFloat, default 0.1
        First reconnect delay (then multiplied by ``reconnect_backoff_factor`` per failed attempt).
    reconnect_delay_max_secs : PositiveFloat, default 30.0
        Cap of the reconnect delay.
    reconnect_backoff_factor : PositiveFloat, default 2.0
        Growth of the reconnect delay per failed attempt.
    reconnect_jitter_ratio : float, default 0.5
        Random extra delay, up to this fraction of the delay (spreads reconnect storms).
    rest_poll_interval_secs : PositiveFloat, default 1.0
        Interval of REST polling (books, trades) while the socket is down.
    snapshot_timeout_secs : PositiveFloat, default 10.0
        A subscribed market without any frame for this long is reported (Upbit ignores unknown or
        delisted codes silently).
    trade_dedup_window : PositiveInt, default 10000
        How many recent ``sequential_id`` per market are remembered to drop duplicate trades.

    """

    venue: Venue = UPBIT_VENUE
    access_key: str | None = None
    secret_key: str | None = None
    jwt_algorithm: UpbitJwtAlgorithm = UpbitJwtAlgorithm.HS512
    base_url_http: str | None = None
    base_url_ws: str | None = None
    base_url_ws_private: str | None = None
    proxy_url: str | None = None
    ws_format: Literal["DEFAULT", "SIMPLE"] = "DEFAULT"
    http_timeout_secs: PositiveFloat = 10.0
    order_rate_per_sec: PositiveFloat | None = None
    update_instruments_interval_mins: PositiveInt | None = 1440
    keepalive_secs: PositiveFloat = UPBIT_WS_KEEPALIVE_SECS
    reconnect_delay_initial_secs: PositiveFloat = 0.1
    reconnect_delay_max_secs: PositiveFloat = 30.0
    reconnect_backoff_factor: PositiveFloat = 2.0
    reconnect_jitter_ratio: float = 0.5
    rest_poll_interval_secs: PositiveFloat = 1.0
    snapshot_timeout_secs: PositiveFloat = 10.0
    trade_dedup_window: PositiveInt = 10_000


class UpbitExecClientConfig(LiveExecClientConfig, frozen=True):
    """
    Configuration for ``UpbitExecutionClient`` instances.

    Parameters
    ----------
    venue : Venue, default UPBIT_VENUE
        The venue for the client.
    access_key : str, optional
        The Upbit access key; ``None`` reads ``UPBIT_ACCESS_KEY``.
    secret_key : str, optional
        The Upbit secret key; ``None`` reads ``UPBIT_SECRET_KEY``.
    jwt_algorithm : UpbitJwtAlgorithm, default HS512
        The JWT signing algorithm (HS256 also verifies).
    base_url_http : str, optional
        REST base URL override.
    base_url_ws : str, optional
        Public WebSocket URL override (used by the data client; accepted here so one settings block can
        fill both configs).
    base_url_ws_private : str, optional
        Private WebSocket URL override (default ``wss://api.upbit.com/websocket/v1/private``).
    proxy_url : str, optional
        An HTTP proxy for REST and WebSocket.
    http_timeout_secs : PositiveFloat, default 10.0
        Total timeout of one REST request; a timed-out order is looked up by identifier before any retry.
    order_rate_per_sec : PositiveFloat, optional
        Override of the ``order`` group limit (default 8/s; 12/s from 2026-08-21 21:00 KST).
    max_submit_retries : NonNegativeInt, default 2
        Further attempts of an order whose placement failed without being created (429, or a timeout
        after which the identifier lookup found nothing); each attempt uses a fresh identifier.
    lookup_delay_secs : float, default 0.5
        Pause after a timed-out placement before looking the order up by identifier.
    cancel_confirm_secs : PositiveFloat, default 2.0
        A cancel not confirmed by the private stream within this time is confirmed by ``GET /v1/order``.
    rest_poll_interval_secs : PositiveFloat, default 2.0
        Interval of order look-ups while the private stream is down.
    keepalive_secs : PositiveFloat, default 20.0
        Interval of protocol pings on the private stream.
    reconnect_delay_initial_secs : PositiveFloat, default 0.1
        First reconnect delay of the private stream.
    reconnect_delay_max_secs : PositiveFloat, default 30.0
        Cap of the reconnect delay.
    reconnect_backoff_factor : PositiveFloat, default 2.0
        Growth of the reconnect delay per failed attempt.
    reconnect_jitter_ratio : float, default 0.5
        Random extra delay, up to this fraction of the delay.
    smp_type : {"cancel_maker", "cancel_taker", "reduce"}, optional
        Self-match prevention sent with every order (not combinable with post-only).

    """

    venue: Venue = UPBIT_VENUE
    access_key: str | None = None
    secret_key: str | None = None
    jwt_algorithm: UpbitJwtAlgorithm = UpbitJwtAlgorithm.HS512
    base_url_http: str | None = None
    base_url_ws: str | None = None
    base_url_ws_private: str | None = None
    proxy_url: str | None = None
    http_timeout_secs: PositiveFloat = 10.0
    order_rate_per_sec: PositiveFloat | None = None
    max_submit_retries: NonNegativeInt = 2
    lookup_delay_secs: float = 0.5
    cancel_confirm_secs: PositiveFloat = 2.0
    rest_poll_interval_secs: PositiveFloat = 2.0
    keepalive_secs: PositiveFloat = UPBIT_WS_KEEPALIVE_SECS
    reconnect_delay_initial_secs: PositiveFloat = 0.1
    reconnect_delay_max_secs: PositiveFloat = 30.0
    reconnect_backoff_factor: PositiveFloat = 2.0
    reconnect_jitter_ratio: float = 0.5
    smp_type: Literal["cancel_maker", "cancel_taker", "reduce"] | None = None
