"""Exchange account endpoints (signed, ``default`` group): balances and per-market order chance."""

from __future__ import annotations

import msgspec

from adapters.upbit.http.client import UpbitHttpClient
from adapters.upbit.http.client import decode
from adapters.upbit.schemas.account import UpbitBalance
from adapters.upbit.schemas.account import UpbitOrderChance


class UpbitAccountHttpAPI:
    """
    Provides access to the Upbit account REST API.

    Parameters
    ----------
    client : UpbitHttpClient
        The Upbit HTTP client (with keys).

    """

    def __init__(self, client: UpbitHttpClient) -> None:
        self.client = client
        self._dec_accounts = msgspec.json.Decoder(list[UpbitBalance])
        self._dec_chance = msgspec.json.Decoder(UpbitOrderChance)

    async def query_accounts(self) -> list[UpbitBalance]:
        """``GET /v1/accounts``: free (``balance``) and ``locked`` amount per currency."""
        raw = await self.client.sign_request("GET", "/v1/accounts", group="default")
        return decode(self._dec_accounts, raw, "GET /v1/accounts")

    async def query_order_chance(self, market: str) -> UpbitOrderChance:
        """``GET /v1/orders/chance``: fee rates, order types, min/max totals and both accounts of a market."""
        raw = await self.client.sign_request("GET", "/v1/orders/chance", {"market": market}, group="default")
        return decode(self._dec_chance, raw, "GET /v1/orders/chance")
