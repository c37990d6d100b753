"""UpbitInstrumentProvider against the fake venue (market/all, orderbook/instruments, orders/chance)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from nautilus_trader.common.component import LiveClock
from nautilus_trader.model.identifiers import InstrumentId

from adapters.upbit.config import UpbitInstrumentProviderConfig
from adapters.upbit.http.client import UpbitHttpClient
from adapters.upbit.providers import UpbitInstrumentProvider
from adapters.upbit.providers import UpbitUnknownMarketError
from tests.fakes.upbit import DEFAULT_ACCESS_KEY
from tests.fakes.upbit import DEFAULT_SECRET_KEY
from tests.fakes.upbit import FakeUpbitServer

pytestmark = pytest.mark.integration


def _provider(fake: FakeUpbitServer, keys: bool = True, **config: object) -> UpbitInstrumentProvider:
    client = UpbitHttpClient(
        LiveClock(),
        fake.base_url_http,
        DEFAULT_ACCESS_KEY if keys else None,
        DEFAULT_SECRET_KEY if keys else None,
    )
    return UpbitInstrumentProvider(client, LiveClock(), UpbitInstrumentProviderConfig(**config))  # type: ignore[arg-type]


def test_load_all_builds_currency_pairs_with_venue_rules() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            provider = _provider(fake, load_all=True)
            await provider.initialize()
            btc = provider.find(InstrumentId.from_str("KRW-BTC.UPBIT"))
            assert btc is not None
            assert str(btc.base_currency) == "BTC"
            assert str(btc.quote_currency) == "KRW"
            assert btc.price_precision == 0
            assert str(btc.price_increment) == "1000"  # orderbook/instruments tick_size
            assert btc.size_precision == 8
            assert str(btc.size_increment) == "0.00000001"
            assert str(btc.min_notional) == "5000 KRW"  # orders/chance min_total
            assert str(btc.max_notional) == "1000000000 KRW"
            assert btc.taker_fee == Decimal("0.0005")
            assert btc.tick_scheme_name == "UPBIT_KRW"
            assert btc.info["fees_source"] == "orders/chance"
            assert btc.info["warning"] is False
            # tick scheme: the KRW table steps across price bands
            assert str(btc.next_bid_price(999_999.0)) == "999500"
            assert str(btc.next_bid_price(999_999.0, 1)) == "999000"
            aergo = provider.find(InstrumentId.from_str("KRW-AERGO.UPBIT"))
            assert aergo.info["warning"] is True
            assert aergo.info["market"]["market_event"]["warning"] is True
            sign = provider.find(InstrumentId.from_str("BTC-SIGN.UPBIT"))
            assert sign.price_precision == 8
            assert sign.tick_scheme_name is None
            assert sign.taker_fee == Decimal("0.0025")
            # orders/chance read once per quote market, not per pair
            assert len(fake.requests_to("/v1/orders/chance")) == 2
            await provider._client.close()

    asyncio.run(run())


def test_krw_precision_leaves_room_for_the_band_below() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            provider = _provider(fake, keys=False, load_ids=frozenset({"KRW-BTT.UPBIT"}))
            await provider.initialize()
            btt = provider.find(InstrumentId.from_str("KRW-BTT.UPBIT"))  # recorded price 0.000482
            assert str(btt.price_increment) == "0.0000010"  # tick 0.000001 at a precision of 7
            assert btt.price_precision == 7  # the band below 0.0001 ticks at 0.0000001
            await provider._client.close()

    asyncio.run(run())


def test_without_keys_uses_documented_defaults_and_no_private_call() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            provider = _provider(fake, keys=False, load_all=True)
            await provider.initialize()
            btc = provider.find(InstrumentId.from_str("KRW-BTC.UPBIT"))
            assert btc.info["fees_source"] == "defaults"
            assert btc.taker_fee == Decimal("0.0005")
            assert str(btc.min_notional) == "5000 KRW"
            assert not [r for r in fake.requests if "Authorization" in r.headers]
            assert all("Origin" not in r.headers for r in fake.requests)
            await provider._client.close()

    asyncio.run(run())


def test_filters_quote_currency_and_warnings() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            provider = _provider(fake, keys=False)
            await provider.load_all_async({"quote_currencies": ["BTC"]})
            assert [i.id.value for i in provider.list_all()] == ["BTC-SIGN.UPBIT"]
            await provider._client.close()
            provider = _provider(fake, keys=False, include_warning_markets=False)
            await provider.load_all_async({"markets": ["KRW-BTC", "KRW-AERGO", "KRW-ZIL"]})
            assert [i.id.value for i in provider.list_all()] == ["KRW-BTC.UPBIT"]
            await provider._client.close()

    asyncio.run(run())


def test_unknown_or_delisted_market_is_a_clear_error() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            fake.exchange.delist("KRW-ZIL")
            provider = _provider(fake, keys=False)
            with pytest.raises(UpbitUnknownMarketError) as info:
                await provider.load_ids_async(
                    [InstrumentId.from_str("KRW-NOPE.UPBIT"), InstrumentId.from_str("KRW-ZIL.UPBIT")],
                )
            message = str(info.value)
            assert "KRW-NOPE.UPBIT" in message
            assert "KRW-ZIL.UPBIT" in message
            assert "delisted" in message
            with pytest.raises(ValueError, match="not a UPBIT instrument"):
                await provider.load_ids_async([InstrumentId.from_str("BTCUSDT.BINANCE")])
            await provider._client.close()

    asyncio.run(run())


def test_usdt_quote_market() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            row = {"market": "USDT-BTC", "korean_name": "비트코인", "english_name": "Bitcoin"}
            fake.exchange.add_market(row, Decimal("70123.45"))
            provider = _provider(fake, load_ids=frozenset({"USDT-BTC.UPBIT"}))
            await provider.initialize()
            pair = provider.find(InstrumentId.from_str("USDT-BTC.UPBIT"))
            assert str(pair.quote_currency) == "USDT"
            assert str(pair.price_increment) == "0.01"
            assert str(pair.min_notional) == "0.50000000 USDT"
            assert pair.taker_fee == Decimal("0.0025")
            assert pair.info["market"].get("market_event") is None  # no details on this row: tolerated
            await provider._client.close()

    asyncio.run(run())
