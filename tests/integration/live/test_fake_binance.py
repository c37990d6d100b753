"""
The fake Binance spot venue speaks the protocol NautilusTrader's built-in adapter expects (reference §2):
checked on the wire, then with the real ``BinanceSpotDataClient`` in a ``TradingNode``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

import aiohttp
import msgspec
import pytest
from nautilus_trader.adapters.binance import BinanceAccountType
from nautilus_trader.adapters.binance import BinanceDataClientConfig
from nautilus_trader.adapters.binance import BinanceLiveDataClientFactory
from nautilus_trader.adapters.binance.spot.schemas.market import BinanceSpotExchangeInfo
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.instruments import binance_spot_symbol_info
from arb_plugin.instruments import btcusdt_binance
from arb_plugin.observability.ws_state import binance_ws_state
from tests.fakes.binance import FakeBinanceSpot
from tests.fakes.binance import make_fake_binance
from tests.fakes.binance.replay import book_tops
from tests.fakes.binance.replay import load_minutes

pytestmark = pytest.mark.integration
EIGHT_DP = re.compile(r"^\d+\.\d{8}$")
KEY, SECRET = "fakeBinanceKey0123456789", "fakeBinanceSecret9876543210"


def _fake(market_dir: Path, **kwargs: object) -> FakeBinanceSpot:
    return make_fake_binance(market_dir, minutes=30, tick_interval_s=0.02, **kwargs)  # type: ignore[arg-type]


def test_exchange_info_is_the_projects_symbol_data(market_dir: Path) -> None:
    async def run() -> None:
        fake = _fake(market_dir)
        await fake.start()
        try:
            async with aiohttp.ClientSession(fake.base_url_http) as http:
                async with http.get("/api/v3/exchangeInfo", params={"symbols": '["BTCUSDT"]'}) as resp:
                    assert resp.status == 200
                    info = msgspec.json.decode(await resp.read(), type=BinanceSpotExchangeInfo)
                    assert [s.symbol for s in info.symbols] == ["BTCUSDT"]
                async with http.get("/api/v3/exchangeInfo", params={"symbol": "BTCUSDT"}) as resp:
                    raw = await resp.json()
                    assert raw["symbols"] == [binance_spot_symbol_info("BTCUSDT")]
                async with http.get("/api/v3/exchangeInfo", params={"symbol": "NOPEUSDT"}) as resp:
                    assert resp.status == 400
                    assert await resp.json() == {"code": -1121, "msg": "Invalid symbol."}
        finally:
            await fake.stop()

    asyncio.run(run())


def test_signed_trade_fee(market_dir: Path) -> None:
    def signed(params: dict[str, str], secret: str) -> str:
        query = urllib.parse.urlencode(params)
        return query + "&signature=" + hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()

    async def run() -> None:
        fake = _fake(market_dir, api_key=KEY, api_secret=SECRET)
        await fake.start()
        try:
            async with aiohttp.ClientSession(fake.base_url_http, headers={"X-MBX-APIKEY": KEY}) as http:
                params = {"timestamp": str(time.time_ns() // 1_000_000)}
                async with http.get(f"/sapi/v1/asset/tradeFee?{signed(params, SECRET)}") as resp:
                    assert resp.status == 200
                    assert await resp.json() == [
                        {"symbol": "BTCUSDT", "makerCommission": "0.00100000", "takerCommission": "0.00100000"},
                    ]
                async with http.get(f"/sapi/v1/asset/tradeFee?{signed(params, 'wrong')}") as resp:
                    assert resp.status == 400
                    assert (await resp.json())["code"] == -1022
            async with aiohttp.ClientSession(fake.base_url_http) as http, \
                    http.get(f"/sapi/v1/asset/tradeFee?{signed(params, SECRET)}") as resp:
                assert (resp.status, (await resp.json())["code"]) == (401, -2014)
        finally:
            await fake.stop()

    asyncio.run(run())


def test_combined_stream_book_ticker_subscribe_and_drop(market_dir: Path) -> None:
    expected = book_tops(load_minutes(market_dir / "binance/binance_BTC_USDT_2024_09_1m.csv.gz", count=30))

    async def run() -> None:
        fake = _fake(market_dir)
        await fake.start()
        try:
            async with aiohttp.ClientSession() as http:
                ws = await http.ws_connect(f"{fake.base_url_ws}/stream?streams=btcusdt@bookTicker")
                frames = [json.loads((await ws.receive()).data) for _ in range(8)]
                assert {f["stream"] for f in frames} == {"btcusdt@bookTicker"}
                for frame in frames:
                    data = frame["data"]
                    assert set(data) == {"u", "s", "b", "B", "a", "A"}
                    assert data["s"] == "BTCUSDT"
                    assert all(EIGHT_DP.match(data[k]) for k in "bBaA"), data
                    assert Decimal(data["a"]) - Decimal(data["b"]) == Decimal("0.01")
                # The replay walks the real candles: the bids are consecutive prices of the CSV.
                bids = [Decimal(f["data"]["b"]) for f in frames]
                first = next(i for i, top in enumerate(expected) if top.bid == bids[0])
                assert bids == [t.bid for t in expected[first : first + 8]]
                assert [f["data"]["u"] for f in frames] == sorted({f["data"]["u"] for f in frames})

                await ws.send_json({"method": "SUBSCRIBE", "params": ["ethusdt@bookTicker"], "id": 7})
                await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 8})
                replies = {}
                while len(replies) < 2:
                    msg = json.loads((await ws.receive()).data)
                    if "id" in msg:
                        replies[msg["id"]] = msg
                assert replies[7] == {"result": None, "id": 7}
                assert replies[8] == {"result": ["btcusdt@bookTicker", "ethusdt@bookTicker"], "id": 8}

                assert await fake.drop_connections(refuse_for_s=0.5) == 1
                msg = await ws.receive(timeout=5)
                assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE)
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await http.ws_connect(f"{fake.base_url_ws}/stream?streams=btcusdt@bookTicker")
                assert refused.value.status == 503
                await asyncio.sleep(0.6)
                ws2 = await http.ws_connect(f"{fake.base_url_ws}/stream?streams=btcusdt@bookTicker")
                assert json.loads((await ws2.receive(timeout=5)).data)["stream"] == "btcusdt@bookTicker"
                await ws2.close()
            assert fake.ws_handshakes == 2 and fake.ws_refused == 1
        finally:
            await fake.stop()

    asyncio.run(run())


class _QuoteCounter(Strategy):
    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="COUNTER-001"))
        self.quotes: list[QuoteTick] = []

    def on_start(self) -> None:
        self.subscribe_quote_ticks(InstrumentId.from_str("BTCUSDT.BINANCE"))

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.quotes.append(tick)


def test_nautilus_binance_data_client_against_the_fake(market_dir: Path) -> None:
    """The built-in client loads the instrument (fees via the signed endpoint), streams quotes, reconnects."""
    fake = _fake(market_dir, api_key=KEY, api_secret=SECRET).start_in_thread()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    node = TradingNode(
        TradingNodeConfig(
            logging=LoggingConfig(log_level="ERROR"),
            timeout_disconnection=2,
            timeout_post_stop=0.1,
            data_clients={
                "BINANCE": BinanceDataClientConfig(
                    api_key=KEY, api_secret=SECRET, account_type=BinanceAccountType.SPOT,
                    base_url_http=fake.base_url_http, base_url_ws=fake.base_url_ws,
                    instrument_provider=InstrumentProviderConfig(load_ids=frozenset(["BTCUSDT.BINANCE"])),
                ),
            },
        ),
        loop=loop,
    )
    node.add_data_client_factory("BINANCE", BinanceLiveDataClientFactory)
    counter = _QuoteCounter()
    node.trader.add_strategy(counter)
    node.build()
    outcome: dict[str, object] = {}

    async def scenario() -> None:
        run = asyncio.create_task(node.run_async())
        deadline = time.monotonic() + 15
        while len(counter.quotes) < 20 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        outcome["before"] = len(counter.quotes)
        instrument = node.cache.instrument(InstrumentId.from_str("BTCUSDT.BINANCE"))
        outcome["instrument"] = instrument
        client = node.kernel.data_engine.routing_map[Venue("BINANCE")]
        outcome["state_up"] = binance_ws_state(client)
        fake.call(fake.drop_connections(refuse_for_s=1.0))
        n = len(counter.quotes)
        states = []
        deadline = time.monotonic() + 15
        while len(counter.quotes) < n + 20 and time.monotonic() < deadline:
            states.append(binance_ws_state(client)[0])
            await asyncio.sleep(0.02)
        outcome["states"] = states
        outcome["state_again"] = binance_ws_state(client)
        outcome["after"] = len(counter.quotes) - n
        await node.stop_async()
        await asyncio.sleep(0.2)
        run.cancel()

    try:
        loop.run_until_complete(scenario())
    finally:
        node.kernel.cancel_all_tasks()  # as LiveNode.dispose does: no ActorExecutor worker left pending
        node.dispose()
        fake.stop_thread()

    assert outcome["before"] >= 20
    assert outcome["after"] >= 20  # quotes resumed after the drop
    assert fake.ws_handshakes == 2  # one reconnect, on the same combined-stream URL
    assert fake.ws_refused >= 1
    # The health probe saw the socket up, then down while the fake refused it, then up again.
    assert outcome["state_up"] == (True, "1/1 connection(s) active, 1 stream(s)")
    assert False in outcome["states"]
    assert outcome["state_again"][0] is True
    instrument = outcome["instrument"]
    shipped = btcusdt_binance()
    assert instrument.price_precision == shipped.price_precision == 8  # reference §9 P1
    assert instrument.size_precision == shipped.size_precision
    assert instrument.price_increment == shipped.price_increment
    assert instrument.taker_fee == Decimal("0.001")  # learned through the signed tradeFee endpoint
    quote = counter.quotes[0]
    assert quote.bid_price.precision == 8
    assert ("GET", "/stream?streams=btcusdt@bookTicker") in fake.requests
    assert any(path.startswith("/sapi/v1/asset/tradeFee?") for _, path in fake.requests)
