"""The private stream (``/websocket/v1/private``): ``myOrder`` and ``myAsset`` on one authenticated socket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nautilus_trader.common.component import LiveClock

from adapters.upbit.auth import UpbitSigner
from adapters.upbit.websocket.client import UpbitWebSocketClient


class UpbitPrivateWebSocketClient(UpbitWebSocketClient):
    """
    Provides the private Upbit stream: order events (``myOrder``) and balance changes (``myAsset``).

    The upgrade request carries ``Authorization: Bearer <JWT>`` (access key + a fresh nonce, no query
    hash), signed anew on every connect. Upbit may refuse many simultaneous private connections, so both
    types share this one socket; ``myAsset`` takes no codes.

    Parameters
    ----------
    clock : LiveClock
        The clock for the client.
    base_url : str
        The private WebSocket URL.
    handler : Callable[[bytes], None]
        Called with every frame.
    signer : UpbitSigner
        Signs the upgrade request.
    **kwargs
        Passed to ``UpbitWebSocketClient`` (callbacks, keepalive, backoff).

    """

    def __init__(
        self,
        clock: LiveClock,
        base_url: str,
        handler: Callable[[bytes], None],
        signer: UpbitSigner,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            clock,
            base_url,
            handler,
            name="private",
            header_factory=lambda: {"Authorization": signer.authorization()},
            **kwargs,
        )

    def subscribe_account_streams(self) -> None:
        """Subscribe ``myOrder`` (all markets) and ``myAsset``."""
        self.subscribe("myOrder")
        self.subscribe("myAsset")
