"""
Exchange order endpoints (signed): place, test, look up, list, cancel, batch cancel, cancel-and-new.

Groups: ``order`` (POST /v1/orders, cancel_and_new), ``order-test``, ``order-cancel-all`` (DELETE
/v1/orders/open, one per 2 s), ``default`` (everything else).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from adapters.upbit.enums import UpbitOrderSide
from adapters.upbit.enums import UpbitOrderType
from adapters.upbit.enums import UpbitTimeInForce
from adapters.upbit.http.client import UpbitHttpClient
from adapters.upbit.http.client import decode
from adapters.upbit.schemas.order import UpbitBatchCancelResult
from adapters.upbit.schemas.order import UpbitCancelAndNewResult
from adapters.upbit.schemas.order import UpbitOrder


def _one_id(uuid: str | None, identifier: str | None) -> dict[str, str | None]:
    if (uuid is None) == (identifier is None):
        raise ValueError("give exactly one of `uuid` or `identifier`")
    return {"uuid": uuid, "identifier": identifier}


class UpbitOrderHttpAPI:
    """
    Provides access to the Upbit order REST API.

    Parameters
    ----------
    client : UpbitHttpClient
        The Upbit HTTP client (with keys).

    """

    def __init__(self, client: UpbitHttpClient) -> None:
        self.client = client
        self._dec_order = msgspec.json.Decoder(UpbitOrder)
        self._dec_orders = msgspec.json.Decoder(list[UpbitOrder])
        self._dec_cancel_and_new = msgspec.json.Decoder(UpbitCancelAndNewResult)
        self._dec_batch = msgspec.json.Decoder(UpbitBatchCancelResult)

    @staticmethod
    def order_body(
        market: str,
        side: UpbitOrderSide,
        ord_type: UpbitOrderType,
        volume: str | None = None,
        price: str | None = None,
        time_in_force: UpbitTimeInForce | None = None,
        identifier: str | None = None,
        smp_type: str | None = None,
    ) -> dict[str, str]:
        """Return the JSON body of ``POST /v1/orders`` (numbers as strings; absent values left out)."""
        body = {"market": market, "side": side.value, "ord_type": ord_type.value}
        if volume is not None:
            body["volume"] = volume
        if price is not None:
            body["price"] = price
        if time_in_force is not None:
            body["time_in_force"] = time_in_force.value
        if identifier is not None:
            body["identifier"] = identifier
        if smp_type is not None:
            body["smp_type"] = smp_type
        return body

    async def new_order(self, body: dict[str, str]) -> UpbitOrder:
        """``POST /v1/orders`` (201): the new order's snapshot, normally ``state=wait``."""
        raw = await self.client.sign_request("POST", "/v1/orders", body=body, group="order")
        return decode(self._dec_order, raw, "POST /v1/orders")

    async def test_order(self, body: dict[str, str]) -> UpbitOrder:
        """``POST /v1/orders/test`` (201): validates without creating (the uuid is not queryable)."""
        raw = await self.client.sign_request("POST", "/v1/orders/test", body=body, group="order-test")
        return decode(self._dec_order, raw, "POST /v1/orders/test")

    async def query_order(self, uuid: str | None = None, identifier: str | None = None) -> UpbitOrder:
        """``GET /v1/order``: one order with its ``trades[]`` (raises ``order_not_found`` when unknown)."""
        raw = await self.client.sign_request("GET", "/v1/order", _one_id(uuid, identifier), group="default")
        return decode(self._dec_order, raw, "GET /v1/order")

    async def query_orders_by_ids(
        self,
        uuids: Sequence[str] | None = None,
        identifiers: Sequence[str] | None = None,
        market: str | None = None,
    ) -> list[UpbitOrder]:
        """``GET /v1/orders/uuids``: up to 100 orders by ``uuids[]`` or ``identifiers[]`` (not both)."""
        if bool(uuids) == bool(identifiers):
            raise ValueError("give exactly one of `uuids` or `identifiers`")
        params = {
            "market": market,
            "uuids[]": list(uuids) if uuids else None,
            "identifiers[]": list(identifiers) if identifiers else None,
        }
        raw = await self.client.sign_request("GET", "/v1/orders/uuids", params, group="default")
        return decode(self._dec_orders, raw, "GET /v1/orders/uuids")

    async def query_open_orders(
        self,
        market: str | None = None,
        states: Sequence[str] = ("wait", "watch"),
        page: int = 1,
        limit: int = 100,
        order_by: str = "desc",
    ) -> list[UpbitOrder]:
        """``GET /v1/orders/open``: one page (``limit`` <= 100) of open orders."""
        params = {
            "market": market,
            "states[]": list(states),
            "page": page,
            "limit": limit,
            "order_by": order_by,
        }
        raw = await self.client.sign_request("GET", "/v1/orders/open", params, group="default")
        return decode(self._dec_orders, raw, "GET /v1/orders/open")

    async def query_closed_orders(
        self,
        market: str | None = None,
        states: Sequence[str] = ("done", "cancel"),
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 1000,
        order_by: str = "desc",
    ) -> list[UpbitOrder]:
        """``GET /v1/orders/closed``: closed orders in a window of at most 7 days (times in Unix ms)."""
        params = {
            "market": market,
            "states[]": list(states),
            "start_time": start_time,
            "end_time": end_time,
            "limit": limit,
            "order_by": order_by,
        }
        raw = await self.client.sign_request("GET", "/v1/orders/closed", params, group="default")
        return decode(self._dec_orders, raw, "GET /v1/orders/closed")

    async def cancel_order(self, uuid: str | None = None, identifier: str | None = None) -> UpbitOrder:
        """
        ``DELETE /v1/order``: request a cancel.

        Cancel is asynchronous: the answer is the pre-cancel snapshot (usually still ``state=wait``); the
        cancel is confirmed by ``myOrder`` or a later ``GET /v1/order``.
        """
        raw = await self.client.sign_request("DELETE", "/v1/order", _one_id(uuid, identifier), group="default")
        return decode(self._dec_order, raw, "DELETE /v1/order")

    async def cancel_orders_by_ids(
        self,
        uuids: Sequence[str] | None = None,
        identifiers: Sequence[str] | None = None,
    ) -> UpbitBatchCancelResult:
        """``DELETE /v1/orders/uuids``: cancel up to 20 orders by ``uuids[]`` or ``identifiers[]``."""
        if bool(uuids) == bool(identifiers):
            raise ValueError("give exactly one of `uuids` or `identifiers`")
        params = {
            "uuids[]": list(uuids) if uuids else None,
            "identifiers[]": list(identifiers) if identifiers else None,
        }
        raw = await self.client.sign_request("DELETE", "/v1/orders/uuids", params, group="default")
        return decode(self._dec_batch, raw, "DELETE /v1/orders/uuids")

    async def cancel_open_orders(
        self,
        pairs: Sequence[str] | None = None,
        quote_currencies: Sequence[str] | None = None,
        cancel_side: str = "all",
        count: int | None = None,
    ) -> UpbitBatchCancelResult:
        """``DELETE /v1/orders/open``: cancel up to 300 ``wait`` orders (one call per 2 s)."""
        params = {
            "pairs": list(pairs) if pairs else None,
            "quote_currencies": list(quote_currencies) if quote_currencies else None,
            "cancel_side": cancel_side,
            "count": count,
        }
        raw = await self.client.sign_request("DELETE", "/v1/orders/open", params, group="order-cancel-all")
        return decode(self._dec_batch, raw, "DELETE /v1/orders/open")

    async def cancel_and_new(
        self,
        new_ord_type: UpbitOrderType,
        prev_order_uuid: str | None = None,
        prev_order_identifier: str | None = None,
        new_volume: str | None = None,
        new_price: str | None = None,
        new_identifier: str | None = None,
        new_time_in_force: UpbitTimeInForce | None = None,
    ) -> UpbitCancelAndNewResult:
        """
        ``POST /v1/orders/cancel_and_new`` (HTTP 200): cancel an order, place a new one (same pair, side).

        The answer is the **old** order's snapshot plus ``new_order_uuid``; that field is absent when the old
        order filled before the cancel took effect.
        """
        if (prev_order_uuid is None) == (prev_order_identifier is None):
            raise ValueError("give exactly one of `prev_order_uuid` or `prev_order_identifier`")
        body: dict[str, str] = {}
        if prev_order_uuid is not None:
            body["prev_order_uuid"] = prev_order_uuid
        if prev_order_identifier is not None:
            body["prev_order_identifier"] = prev_order_identifier
        body["new_ord_type"] = new_ord_type.value
        if new_volume is not None:
            body["new_volume"] = new_volume
        if new_price is not None:
            body["new_price"] = new_price
        if new_identifier is not None:
            body["new_identifier"] = new_identifier
        if new_time_in_force is not None:
            body["new_time_in_force"] = new_time_in_force.value
        raw = await self.client.sign_request("POST", "/v1/orders/cancel_and_new", body=body, group="order")
        return decode(self._dec_cancel_and_new, raw, "POST /v1/orders/cancel_and_new")
