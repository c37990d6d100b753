"""
Upbit constants: the venue, default endpoints, rate-limit priors and protocol timings.

Sources are the tags of ``shared/reference/upbit-api.md`` (Korea, ``api.upbit.com`` only).
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from decimal import Decimal
from typing import Final

from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import Venue

UPBIT: Final[str] = "UPBIT"
UPBIT_VENUE: Final[Venue] = Venue(UPBIT)
UPBIT_CLIENT_ID: Final[ClientId] = ClientId(UPBIT)

# -- endpoints (overridable from config: base_url_http / base_url_ws / base_url_ws_private) --------------
UPBIT_BASE_URL_HTTP: Final[str] = "https://api.upbit.com"
UPBIT_BASE_URL_WS: Final[str] = "wss://api.upbit.com/websocket/v1"
UPBIT_BASE_URL_WS_PRIVATE: Final[str] = "wss://api.upbit.com/websocket/v1/private"

# -- markets ----------------------------------------------------------------------------------------------
UPBIT_QUOTE_CURRENCIES: Final[tuple[str, ...]] = ("KRW", "BTC", "USDT")
UPBIT_SIZE_PRECISION: Final[int] = 8  # volumes carry up to 8 decimals (upbit-api.md §5.2)

# Defaults when /v1/orders/chance cannot be read (no keys): fees per quote market (§5.3) and the minimum
# order total per quote market (§5.2). orders/chance is the source of truth whenever it can be read.
UPBIT_DEFAULT_FEES: Final[dict[str, Decimal]] = {
    "KRW": Decimal("0.0005"),
    "BTC": Decimal("0.0025"),
    "USDT": Decimal("0.0025"),
}
UPBIT_DEFAULT_MIN_TOTAL: Final[dict[str, Decimal]] = {
    "KRW": Decimal("5000"),
    "BTC": Decimal("0.00005"),
    "USDT": Decimal("0.5"),
}
UPBIT_DEFAULT_MAX_TOTAL: Final[dict[str, Decimal]] = {
    "KRW": Decimal("1000000000"),
    "BTC": Decimal("10"),
}

# -- rate limits (upbit-api.md §3) ----------------------------------------------------------------------
# Keyed on the ``Remaining-Req: group=<name>`` header value (which differs from the docs' names), with the
# documented requests per second as priors until the server's own ``sec`` count is known.
UPBIT_RATE_LIMIT_PRIORS: Final[dict[str, float]] = {
    "market": 10.0,
    "candles": 10.0,
    "crix-trades": 10.0,
    "ticker": 10.0,
    "orderbook": 10.0,
    "default": 30.0,
    "order": 8.0,
    "order-test": 8.0,
    "order-cancel-all": 0.5,  # one call per 2 seconds
}
UPBIT_ORDER_RATE_PER_SEC_BEFORE: Final[float] = 8.0
UPBIT_ORDER_RATE_PER_SEC_AFTER: Final[float] = 12.0
# Order group raised from 8/s to 12/s on 2026-08-21 21:00 KST (12:00 UTC) [D-rl-chg].
UPBIT_ORDER_RATE_CHANGE_AT: Final[datetime] = datetime(2026, 8, 21, 12, 0, tzinfo=UTC)
UPBIT_429_BACKOFF_SECS: Final[float] = 1.0  # 429 carries no Retry-After: back off hard, at least 1 s
UPBIT_418_DEFAULT_BLOCK_SECS: Final[float] = 60.0  # when a 418 body gives no readable duration

# -- WebSocket (upbit-api.md §6) -------------------------------------------------------------------------
UPBIT_WS_IDLE_TIMEOUT_SECS: Final[float] = 60.0  # observed live (docs say 120 s): design for 60 s
UPBIT_WS_KEEPALIVE_SECS: Final[float] = 20.0  # protocol ping well inside the idle timeout
UPBIT_WS_REQUESTS_PER_SEC: Final[float] = 5.0  # data requests per connection (also 100/min)
UPBIT_WS_ORDERBOOK_COUNTS: Final[tuple[int, ...]] = (1, 5, 15, 30)  # `.N` suffixes the server honours
UPBIT_WS_ORDERBOOK_MAX_UNITS: Final[int] = 30
