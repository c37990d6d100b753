"""
The fake venue speaks Upbit's protocol: checked with a bare aiohttp client (no adapter code on the client
side except the JWT signer, which the fake verifies independently).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import aiohttp
import pytest

from adapters.upbit.auth import UpbitSigner
from tests.fakes.upbit import DEFAULT_ACCESS_KEY
from tests.fakes.upbit import DEFAULT_SECRET_KEY
from tests.fakes.upbit import FakeUpbitServer
from tests.fakes.upbit import fixtures
from tests.integration.upbit.harness import wait_for

pytestmark = pytest.mark.integration


async def _frames(ws: aiohttp.ClientWebSocketResponse, n: int, timeout: float = 10.0) -> list[Any]:
    out: list[Any] = []
    while len(out) < n:
        try:
            msg = await ws.receive(timeout=timeout)
        except TimeoutError:
            break
        if msg.type != aiohttp.WSMsgType.BINARY:
            out.append(msg.type)
            break
        out.append(json.loads(msg.data))
    return out


def test_recorded_subscribe_request_is_served_with_binary_snapshots() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake, aiohttp.ClientSession() as session:
            ws = await session.ws_connect(fake.base_url_ws)
            async with ws:
                await ws.send_bytes(fixtures.raw("ws_subscribe_request_multi_type.json"))
                frames = await _frames(ws, 5)
                kinds = sorted((f["type"], f["code"]) for f in frames)
                # orderbook for the known KRW codes; BTC-ETH/USDT-BTC/BTC-BERA are not listed: nothing
                assert ("orderbook", "KRW-BTC") in kinds
                assert ("ticker", "KRW-BTC") in kinds
                assert ("trade", "KRW-BTC") in kinds
                assert all(f["stream_type"] == "SNAPSHOT" for f in frames)
                book = next(f for f in frames if f["type"] == "orderbook" and f["code"] == "KRW-BTC")
                assert len(book["orderbook_units"]) == 30
            assert fake.ws_connects[0].headers.get("Origin") is None

    asyncio.run(run())


def test_a_new_request_replaces_the_subscription_set() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake, aiohttp.ClientSession() as session:
            ws = await session.ws_connect(fake.base_url_ws)
            async with ws:
                await ws.send_json([{"ticket": "a"}, {"type": "orderbook", "codes": ["KRW-BTC.5"]}])
                (snapshot,) = await _frames(ws, 1)
                assert len(snapshot["orderbook_units"]) == 5  # `.N` count honoured
                await ws.send_json(
                    [{"ticket": "b"}, {"type": "orderbook", "codes": ["KRW-ETH"], "is_only_realtime": True}],
                )
                await wait_for(lambda: fake.subscribed_codes() == {"KRW-ETH"})
                await fake.publish_orderbook("KRW-BTC")  # no longer subscribed
                await fake.publish_orderbook("KRW-ETH")
                (frame,) = await _frames(ws, 1)
                assert (frame["code"], frame["stream_type"]) == ("KRW-ETH", "REALTIME")

    asyncio.run(run())


def test_numbers_on_the_socket_use_upbit_exponent_forms() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake, aiohttp.ClientSession() as session:
            ws = await session.ws_connect(fake.base_url_ws)
            async with ws:
                await ws.send_json([{"ticket": "a"}, {"type": "orderbook", "codes": ["KRW-BTC"]}])
                msg = await ws.receive(timeout=10)
                assert b'"ask_price":1.03493E8' in msg.data
                assert b'"bid_size":4.843E-5' in msg.data

    asyncio.run(run())


@pytest.mark.parametrize(
    ("request_payload", "name"),
    [
        ([{"type": "orderbook", "codes": ["KRW-BTC"]}], "NO_TICKET"),
        ([{"ticket": "t"}, {"type": "nope", "codes": ["KRW-BTC"]}], "INVALID_PARAM"),
        ([{"ticket": "t"}, {"type": "orderbook", "codes": ["KRW-BTC"]}, {"format": "XML"}], "WRONG_FORMAT"),
    ],
)
def test_error_frames_then_close(request_payload: list[Any], name: str) -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake, aiohttp.ClientSession() as session:
            ws = await session.ws_connect(fake.base_url_ws)
            async with ws:
                await ws.send_json(request_payload)
                frames = await _frames(ws, 2)
                assert frames[0]["error"]["name"] == name
                assert frames[1] in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
                assert ws.close_code == 1000

    asyncio.run(run())


def test_text_ping_gets_status_up() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake, aiohttp.ClientSession() as session:
            ws = await session.ws_connect(fake.base_url_ws)
            async with ws:
                await ws.send_str("PING")
                (frame,) = await _frames(ws, 1)
                assert frame == {"status": "UP"}

    asyncio.run(run())


def test_idle_socket_is_dropped_without_close_frame() -> None:
    async def run() -> None:
        async with FakeUpbitServer(ws_idle_timeout=0.3) as fake, aiohttp.ClientSession() as session:
            ws = await session.ws_connect(fake.base_url_ws, autoping=False)
            async with ws:
                await ws.send_json([{"ticket": "a"}, {"type": "orderbook", "codes": ["KRW-BTC"]}])
                await ws.receive(timeout=2)
                msg = await ws.receive(timeout=3)
                assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
                assert ws.close_code != 1000

    asyncio.run(run())


def test_private_stream_needs_a_valid_jwt_and_streams_my_order_and_my_asset() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake, aiohttp.ClientSession() as session:
            bad = UpbitSigner(DEFAULT_ACCESS_KEY, "wrong-secret")
            async with session.ws_connect(
                fake.base_url_ws_private,
                headers={"Authorization": bad.authorization()},
            ) as ws:
                (frame, _closed) = await _frames(ws, 2)
                assert frame["error"]["name"] == "INVALID_AUTH"

            signer = UpbitSigner(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
            async with session.ws_connect(
                fake.base_url_ws_private,
                headers={"Authorization": signer.authorization()},
            ) as ws:
                await ws.send_json([{"ticket": "p"}, {"type": "myAsset", "codes": ["KRW-BTC"]}])
                (frame, _) = await _frames(ws, 2)
                assert frame["error"]["name"] == "WRONG_FORMAT"  # myAsset takes no codes

            async with session.ws_connect(
                fake.base_url_ws_private,
                headers={"Authorization": signer.authorization()},
            ) as ws:
                await ws.send_json([{"ticket": "p"}, {"type": "myOrder"}, {"type": "myAsset"}])
                await wait_for(lambda: any("myAsset" in c.subscriptions for c in fake.connections.values()))
                fake.exchange.set_balance("KRW", "1000000")
                fake.exchange.place(
                    {
                        "market": "KRW-BTC",
                        "side": "bid",
                        "ord_type": "price",
                        "price": "10000",
                        "identifier": "i1",
                    },
                )
                frames: list[Any] = []
                while not any(f.get("type") == "myOrder" and f.get("state") == "cancel" for f in frames):
                    (frame,) = await _frames(ws, 1)
                    frames.append(frame)
                order_states = [f["state"] for f in frames if f["type"] == "myOrder"]
                assert order_states[0] == "wait"
                assert "trade" in order_states
                assert order_states[-1] == "cancel"  # a market buy ends in cancel with the dust refunded
                assert any(f["type"] == "myAsset" for f in frames)

    asyncio.run(run())


def test_jwt_checks_query_hash_and_nonce_reuse() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake, aiohttp.ClientSession() as session:
            signer = UpbitSigner(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
            url = f"{fake.base_url_http}/v1/orders/chance?market=KRW-BTC"
            token = signer.token("market=KRW-ETH")  # hash of a different query
            async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == 401
                assert (await resp.json())["error"]["name"] == "invalid_query_payload"
            token = signer.token("market=KRW-BTC", nonce="fixed-nonce")
            async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == 200
                assert resp.headers["Remaining-Req"].startswith("group=default; min=1800; sec=")
            async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
                assert (await resp.json())["error"]["name"] == "nonce_used"
            assert hashlib.sha512(b"market=KRW-BTC").hexdigest()  # (the hash the fake recomputed)

    asyncio.run(run())


def test_rate_limit_429_then_418_for_callers_that_keep_going() -> None:
    async def run() -> None:
        async with FakeUpbitServer(block_secs=1.0) as fake, aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(13):
                async with session.get(f"{fake.base_url_http}/v1/orderbook?markets=KRW-BTC") as resp:
                    statuses.append(resp.status)
                    if resp.status == 429:
                        assert await resp.text() == "Too many API requests."
            assert statuses[:10] == [200] * 10
            assert statuses[10] == 429
            assert statuses[11:] == [418, 418]

    asyncio.run(run())


def test_markets_and_prices_can_be_loaded() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake, aiohttp.ClientSession() as session:
            fake.add_market("KRW-NEW", "1234", warning=True)
            fake.set_price("KRW-BTC", "90000000")
            async with session.get(f"{fake.base_url_http}/v1/market/all?is_details=true") as resp:
                rows = {r["market"]: r for r in await resp.json()}
            assert rows["KRW-NEW"]["market_event"]["warning"] is True
            async with session.get(f"{fake.base_url_http}/v1/orderbook?markets=KRW-BTC,KRW-NEW") as resp:
                books = {b["market"]: b["orderbook_units"][0] for b in await resp.json()}
            assert books["KRW-BTC"]["bid_price"] == 90000000
            assert books["KRW-BTC"]["ask_price"] == 90001000  # one KRW-BTC tick above
            assert books["KRW-NEW"]["bid_price"] == 1234

    asyncio.run(run())
