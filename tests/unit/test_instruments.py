"""Instrument specs: one source of truth each, built the way the live providers build them."""

from decimal import Decimal

import msgspec
from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
from nautilus_trader.adapters.binance.http.client import BinanceHttpClient
from nautilus_trader.adapters.binance.spot.providers import BinanceSpotInstrumentProvider
from nautilus_trader.adapters.binance.spot.schemas.market import BinanceSpotSymbolInfo
from nautilus_trader.common.component import LiveClock
from nautilus_trader.model.identifiers import InstrumentId

from arb_plugin.instruments import BINANCE_SPOT_FEE
from arb_plugin.instruments import binance_spot_symbol_info
from arb_plugin.instruments import btcusdt_binance
from arb_plugin.instruments import fx_proxy_instrument
from arb_plugin.instruments import krw_btc_upbit


def nautilus_binance_provider_instrument():
    """Parse the shipped exchangeInfo entry with NautilusTrader's own live Binance spot provider."""
    clock = LiveClock()
    client = BinanceHttpClient(clock=clock, api_key="k", api_secret="s", base_url="http://127.0.0.1:1")
    provider = BinanceSpotInstrumentProvider(client=client, clock=clock, account_type=BinanceAccountType.SPOT)
    info = msgspec.json.decode(msgspec.json.encode(binance_spot_symbol_info("BTCUSDT")), type=BinanceSpotSymbolInfo)
    provider._parse_instrument(info, None, 0)  # the provider's own parser (it needs no network)
    return provider.find(InstrumentId.from_str("BTCUSDT.BINANCE"))


def test_btcusdt_matches_nautilus_live_provider():
    ours = btcusdt_binance()
    theirs = nautilus_binance_provider_instrument()
    assert theirs is not None
    assert ours.price_precision == theirs.price_precision == 8  # reference §9 P1
    assert ours.size_precision == theirs.size_precision == 8
    for field in (
        "price_increment",
        "size_increment",
        "lot_size",
        "min_quantity",
        "max_quantity",
        "min_notional",
        "max_notional",
        "min_price",
        "max_price",
    ):
        assert getattr(ours, field) == getattr(theirs, field), field
    # the live provider learns fees only with keys; ours carries Binance's public spot fee
    assert ours.taker_fee == ours.maker_fee == BINANCE_SPOT_FEE == Decimal("0.001")


def test_krw_btc_upbit_rules():
    inst = krw_btc_upbit()
    assert str(inst.id) == "KRW-BTC.UPBIT"
    assert inst.quote_currency.code == "KRW" and inst.base_currency.code == "BTC"
    assert inst.price_precision == 0 and str(inst.price_increment) == "1000"
    assert inst.size_precision == 8
    assert inst.taker_fee == inst.maker_fee == Decimal("0.0005")
    assert inst.min_notional.as_decimal() == Decimal(5000) and inst.min_notional.currency.code == "KRW"
    assert inst.tick_scheme_name == "UPBIT_KRW"


def test_fx_instrument_prices_usdt_in_krw():
    inst = fx_proxy_instrument()
    assert str(inst.id) == "KRW-USDT.UPBIT"
    assert (inst.base_currency.code, inst.quote_currency.code) == ("USDT", "KRW")
    assert inst.price_precision == 4
