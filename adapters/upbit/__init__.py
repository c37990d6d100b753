"""
NautilusTrader adapter for Upbit (Korea, ``api.upbit.com``): market data, execution and instruments.

``adapters`` is a namespace package; this package is importable as ``adapters.upbit``. Its layout follows
NautilusTrader's own Binance adapter: ``config.py``, ``constants.py``, ``http/`` (signed client, one API
class per endpoint group, error mapping, rate metering), ``websocket/`` (one multiplexed connection per
stream), ``schemas/`` (msgspec structs with ``parse_to_*`` methods), ``parsing.py``, ``providers.py``,
``data.py``, ``execution.py`` and ``factories.py`` (cached shared HTTP client and instrument provider).

Network layer: aiohttp
----------------------
The adapter talks HTTP and WebSocket through aiohttp rather than NautilusTrader's Rust-backed
``nautilus_pyo3.HttpClient``/``WebSocketClient``, because Upbit needs three things those clients do not give
a Python adapter in 1.231:

1. **A fresh JWT on every connect of the private stream.** The private WebSocket upgrade carries
   ``Authorization: Bearer <JWT>`` whose nonce may be used once. The Rust client reconnects by itself with
   the headers fixed in its ``WebSocketConfig``, so every automatic reconnect would replay a used nonce
   (``nonce_used``). With aiohttp the adapter owns the reconnect loop and signs each upgrade.
2. **Knowing when a socket is down.** The Rust client reports reconnects (``post_reconnection``) but not
   disconnects; the adapter must start REST polling the moment the public socket drops and look up its
   orders when the private one does. The adapter's own loop sees both edges.
3. **Metering from the server's own counts.** Upbit says in ``Remaining-Req`` how many requests each group
   has left this second, answers 429 without ``Retry-After`` and 418 with a block period in the body. The
   Rust client's keyed quotas are static token buckets that cannot be fed those numbers; a small Python
   limiter in front of aiohttp can (``http/ratelimit.py``). aiohttp also gives sub-second request timeouts
   (the Rust client takes whole seconds), which the "timeout -> look the order up -> then retry" rule uses.

aiohttp is a mature, widely used asyncio library; frames arrive as ``bytes`` whether the server sends binary
(Upbit does) or text frames, and it never adds an ``Origin`` header (Upbit meters those at 1 per 10 s).
"""

from adapters.upbit.config import UpbitDataClientConfig
from adapters.upbit.config import UpbitExecClientConfig
from adapters.upbit.config import UpbitInstrumentProviderConfig
from adapters.upbit.constants import UPBIT
from adapters.upbit.constants import UPBIT_CLIENT_ID
from adapters.upbit.constants import UPBIT_VENUE
from adapters.upbit.factories import UpbitLiveDataClientFactory
from adapters.upbit.factories import UpbitLiveExecClientFactory
from adapters.upbit.factories import get_cached_upbit_http_client
from adapters.upbit.factories import get_cached_upbit_instrument_provider

__all__ = [
    "UPBIT",
    "UPBIT_CLIENT_ID",
    "UPBIT_VENUE",
    "UpbitDataClientConfig",
    "UpbitExecClientConfig",
    "UpbitInstrumentProviderConfig",
    "UpbitLiveDataClientFactory",
    "UpbitLiveExecClientFactory",
    "get_cached_upbit_http_client",
    "get_cached_upbit_instrument_provider",
]
