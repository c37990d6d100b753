"""Every real Upbit payload in shared/fixtures/upbit goes through the adapter's schemas and parsers."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.data import BarType
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Money

from adapters.upbit.http.error import parse_error_body
from adapters.upbit.http.ratelimit import parse_remaining_req
from adapters.upbit.orderbook import RawCache
from adapters.upbit.orderbook import UnitTokens
from adapters.upbit.orderbook import book_to_deltas
from adapters.upbit.orderbook import book_to_quote
from adapters.upbit.schemas.account import UpbitBalance
from adapters.upbit.schemas.account import UpbitOrderChance
from adapters.upbit.schemas.market import UpbitCandle
from adapters.upbit.schemas.market import UpbitMarketInfo
from adapters.upbit.schemas.market import UpbitOrderbook
from adapters.upbit.schemas.market import UpbitOrderbookInstrument
from adapters.upbit.schemas.market import UpbitTicker
from adapters.upbit.schemas.market import UpbitTrade
from adapters.upbit.schemas.order import UpbitBatchCancelResult
from adapters.upbit.schemas.order import UpbitCancelAndNewResult
from adapters.upbit.schemas.order import UpbitOrder
from adapters.upbit.schemas.ws import DEFAULT_UNIT_KEYS
from adapters.upbit.schemas.ws import SIMPLE_UNIT_KEYS
from adapters.upbit.schemas.ws import UpbitWsControl
from adapters.upbit.schemas.ws import UpbitWsMyAsset
from adapters.upbit.schemas.ws import UpbitWsMyOrder
from adapters.upbit.schemas.ws import UpbitWsOrderbook
from adapters.upbit.schemas.ws import UpbitWsOrderbookSimple
from adapters.upbit.schemas.ws import UpbitWsOrderbookUnit
from adapters.upbit.schemas.ws import UpbitWsOrderbookUnitSimple
from adapters.upbit.schemas.ws import UpbitWsPrivateMsg
from adapters.upbit.schemas.ws import UpbitWsPublicMsg
from adapters.upbit.schemas.ws import UpbitWsPublicMsgSimple
from adapters.upbit.schemas.ws import UpbitWsTicker
from adapters.upbit.schemas.ws import UpbitWsTrade

BTC_KRW = InstrumentId.from_str("KRW-BTC.UPBIT")
ACCOUNT = AccountId("UPBIT-master")
PUBLIC = msgspec.json.Decoder(UpbitWsPublicMsg)
PUBLIC_SIMPLE = msgspec.json.Decoder(UpbitWsPublicMsgSimple)
PRIVATE = msgspec.json.Decoder(UpbitWsPrivateMsg)

# every fixture file -> the schema the adapter reads it with
DECODERS: dict[str, object] = {
    "rest_accounts.json": list[UpbitBalance],
    "rest_candles_days.json": list[UpbitCandle],
    "rest_candles_minutes_1.json": list[UpbitCandle],
    "rest_candles_months.json": list[UpbitCandle],
    "rest_candles_seconds.json": list[UpbitCandle],
    "rest_candles_weeks.json": list[UpbitCandle],
    "rest_candles_years.json": list[UpbitCandle],
    "rest_market_all_is_details_subset.json": list[UpbitMarketInfo],
    "rest_order_cancel.json": UpbitOrder,
    "rest_order_cancel_after_cancel_and_new.json": UpbitOrder,
    "rest_order_cancel_and_new.json": UpbitCancelAndNewResult,
    "rest_order_create_limit_bid.json": UpbitOrder,
    "rest_order_create_market_buy_price.json": UpbitOrder,
    "rest_order_create_market_sell.json": UpbitOrder,
    "rest_order_create_test.json": UpbitOrder,
    "rest_order_get_market_buy_with_trades.json": UpbitOrder,
    "rest_order_get_market_sell_done_with_trades.json": UpbitOrder,
    "rest_order_get_wait_no_trades.json": UpbitOrder,
    "rest_orderbook_KRW-BTC.json": list[UpbitOrderbook],
    "rest_orderbook_instruments_KRW-BTC.json": list[UpbitOrderbookInstrument],
    "rest_orders_chance_KRW-BTC.json": UpbitOrderChance,
    "rest_orders_closed.json": list[UpbitOrder],
    "rest_orders_open_batch_cancel.json": UpbitBatchCancelResult,
    "rest_orders_open_empty.json": list[UpbitOrder],
    "rest_orders_uuids.json": list[UpbitOrder],
    "rest_ticker_KRW-BTC.json": list[UpbitTicker],
    "rest_ticker_all_KRW.json": list[UpbitTicker],
    "rest_trades_ticks_KRW-BTC.json": list[UpbitTrade],
    "rest_trades_ticks_count2.json": list[UpbitTrade],
    "ws_myasset_default_docs_example.json": UpbitWsMyAsset,
    "ws_myorder_default_docs_example.json": UpbitWsMyOrder,
    "ws_orderbook_default_realtime_trimmed.json": UpbitWsOrderbook,
    "ws_orderbook_default_snapshot_trimmed.json": UpbitWsOrderbook,
    "ws_orderbook_simple_trimmed.json": UpbitWsOrderbookSimple,
    "ws_ticker_default_docs_example.json": UpbitWsTicker,
    "ws_trade_default_docs_example.json": UpbitWsTrade,
    "ws_trade_default_live.json": UpbitWsTrade,
    "ws_error_invalid_auth_docs.json": UpbitWsControl,
    "ws_error_invalid_param.json": UpbitWsControl,
    "ws_error_no_ticket.json": UpbitWsControl,
    "ws_error_wrong_format.json": UpbitWsControl,
    "ws_status_up.json": UpbitWsControl,
}
# files read by other parsers (asserted below)
OTHER = {
    "rest_error_400_invalid_price_bid_docs.json",
    "rest_error_400_missing_parameter.json",
    "rest_error_400_type_mismatch.json",
    "rest_error_401_invalid_access_key.json",
    "rest_error_404_code_not_found.json",
    "rest_errors_collected_by_ccxt.json",
    "rest_remaining_req_headers_observed.json",
    "ws_subscribe_request_multi_type.json",  # a request: read by the fake server, checked there
}


def test_every_fixture_file_has_a_parser(upbit_fixtures: Path) -> None:
    files = {p.name for p in upbit_fixtures.glob("*.json")}
    assert files == set(DECODERS) | OTHER


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_fixture_decodes(name: str, upbit_fixture: Callable[[str], bytes]) -> None:
    decoded = msgspec.json.decode(upbit_fixture(name), type=DECODERS[name])
    assert decoded is not None


def test_public_and_private_unions_dispatch_on_type(upbit_fixture: Callable[[str], bytes]) -> None:
    assert isinstance(PUBLIC.decode(upbit_fixture("ws_orderbook_default_snapshot_trimmed.json")), UpbitWsOrderbook)
    assert isinstance(PUBLIC.decode(upbit_fixture("ws_trade_default_live.json")), UpbitWsTrade)
    assert isinstance(PUBLIC.decode(upbit_fixture("ws_ticker_default_docs_example.json")), UpbitWsTicker)
    assert isinstance(PUBLIC_SIMPLE.decode(upbit_fixture("ws_orderbook_simple_trimmed.json")), UpbitWsOrderbookSimple)
    assert isinstance(PRIVATE.decode(upbit_fixture("ws_myorder_default_docs_example.json")), UpbitWsMyOrder)
    assert isinstance(PRIVATE.decode(upbit_fixture("ws_myasset_default_docs_example.json")), UpbitWsMyAsset)
    with pytest.raises(msgspec.ValidationError):
        PUBLIC.decode(upbit_fixture("ws_status_up.json"))  # control frames are not market data


def test_ws_orderbook_frame_to_quote_and_full_book_snapshot(upbit_fixture: Callable[[str], bytes]) -> None:
    msg = PUBLIC.decode(upbit_fixture("ws_orderbook_default_snapshot_trimmed.json"))
    book = UnitTokens(DEFAULT_UNIT_KEYS, UpbitWsOrderbookUnit).to_book(msg.orderbook_units, RawCache(0), RawCache(8))

    quote = book_to_quote(book, BTC_KRW, 0, 8, msg.timestamp * 1_000_000, 1)
    assert quote is not None
    assert str(quote.bid_price) == "116538000"  # 1.16538E8
    assert str(quote.ask_price) == "116539000"
    assert str(quote.bid_size) == "0.08120946"
    assert str(quote.ask_size) == "0.02054761"
    assert quote.ts_event == 1790134742106 * 1_000_000

    deltas = book_to_deltas(book, BTC_KRW, 0, 8, 7, msg.timestamp * 1_000_000, 1)
    actions = [d.action for d in deltas.deltas]
    assert actions == [BookAction.CLEAR] + [BookAction.ADD] * 4  # replace, never merge
    assert deltas.deltas[-1].flags & RecordFlag.F_LAST
    assert not any(d.flags & RecordFlag.F_LAST for d in deltas.deltas[:-1])
    assert all(d.flags & RecordFlag.F_SNAPSHOT for d in deltas.deltas)
    assert {d.sequence for d in deltas.deltas} == {7}
    bids = [str(d.order.price) for d in deltas.deltas[1:] if d.order.side == OrderSide.BUY]
    assert bids == ["116538000", "116537000"]
    asks = [(str(d.order.price), str(d.order.size)) for d in deltas.deltas[1:] if d.order.side == OrderSide.SELL]
    assert asks == [("116539000", "0.02054761"), ("116542000", "0.00077720")]  # trailing zero kept exact


def test_simple_format_parses_like_default(upbit_fixture: Callable[[str], bytes]) -> None:
    msg = PUBLIC_SIMPLE.decode(upbit_fixture("ws_orderbook_simple_trimmed.json"))
    tokens = UnitTokens(SIMPLE_UNIT_KEYS, UpbitWsOrderbookUnitSimple)
    quote = book_to_quote(tokens.to_book(msg.orderbook_units, RawCache(0), RawCache(8)), BTC_KRW, 0, 8, 0, 0)
    assert quote is not None
    assert str(quote.bid_size) == "0.00079276"  # 7.9276E-4
    assert str(quote.ask_price) == "116606000"
    assert msg.code == "KRW-BTC"


def test_rest_orderbook_drops_zero_padding_and_keeps_30_levels(upbit_fixture: Callable[[str], bytes]) -> None:
    book = msgspec.json.decode(upbit_fixture("rest_orderbook_KRW-BTC.json"), type=list[UpbitOrderbook])[0]
    deltas = book.parse_to_order_book_deltas(BTC_KRW, 0, 8, 1, 0)
    assert len(deltas.deltas) == 61
    sizes = [d.order.size for d in deltas.deltas[1:]]
    assert str(min(sizes)) == "0.00004843"  # 4.843e-05
    padded = UpbitOrderbook(
        market="KRW-BTC",
        timestamp=1,
        orderbook_units=[
            *book.orderbook_units[:1],
            type(book.orderbook_units[0])(
                ask_price=Decimal(1),
                bid_price=Decimal(0),
                ask_size=Decimal(1),
                bid_size=Decimal(0),
            ),
        ],
    )
    assert len(padded.parse_to_order_book_deltas(BTC_KRW, 0, 8, 1, 0).deltas) == 4


def test_trade_frames_to_trade_ticks(upbit_fixture: Callable[[str], bytes]) -> None:
    live = PUBLIC.decode(upbit_fixture("ws_trade_default_live.json"))
    tick = live.parse_to_trade_tick(BTC_KRW, 0, 8, 5)
    assert str(tick.price) == "91361000"
    assert str(tick.size) == "0.01275549"
    assert tick.aggressor_side == AggressorSide.SELLER  # ASK = the taker sold
    assert tick.trade_id.value == "17853950437790001"
    assert tick.ts_event == 1785395043779 * 1_000_000  # trade_timestamp, not the frame timestamp

    rest = msgspec.json.decode(upbit_fixture("rest_trades_ticks_count2.json"), type=list[UpbitTrade])
    ticks = [t.parse_to_trade_tick(BTC_KRW, 0, 8, 0) for t in rest]
    assert [str(t.size) for t in ticks] == ["0.00010971", "0.00005485"]  # 5.485e-05
    assert ticks[0].trade_id != ticks[1].trade_id  # same-looking trades differ by sequential_id
    assert ticks[0].aggressor_side == AggressorSide.BUYER


def test_candles_to_bars(upbit_fixture: Callable[[str], bytes]) -> None:
    candle = msgspec.json.decode(upbit_fixture("rest_candles_minutes_1.json"), type=list[UpbitCandle])[0]
    bar_type = BarType.from_str("KRW-BTC.UPBIT-1-MINUTE-LAST-EXTERNAL")
    bar = candle.parse_to_bar(bar_type, 0, 8, ts_event=10, ts_init=11)
    assert (str(bar.open), str(bar.high), str(bar.low), str(bar.close)) == (
        "103600000",
        "103600000",
        "103425000",
        "103460000",
    )
    assert str(bar.volume) == "1.59335120"
    assert candle.unit == 1


def test_market_buy_ending_in_cancel_with_volume_is_filled(upbit_fixture: Callable[[str], bytes]) -> None:
    order = msgspec.json.decode(upbit_fixture("rest_order_get_market_buy_with_trades.json"), type=UpbitOrder)
    assert order.state.value == "cancel"
    assert order.order_status() == OrderStatus.FILLED
    report = order.parse_to_order_status_report(ACCOUNT, BTC_KRW, ClientOrderId("O-1"), 0, 8, 0)
    assert report.order_status == OrderStatus.FILLED
    assert report.order_type == OrderType.MARKET
    assert str(report.quantity) == "0.00009713"
    assert str(report.filled_qty) == "0.00009713"
    assert report.avg_px == Decimal("102945000")
    fills = order.parse_to_fill_reports(ACCOUNT, BTC_KRW, ClientOrderId("O-1"), 0, 8, KRW, 0)
    assert len(fills) == 1
    assert fills[0].trade_id.value == "7dd003ce-cfff-4d68-a75b-a00e325b0661"
    assert str(fills[0].last_px) == "102945000"
    assert fills[0].commission == Money(5, KRW)  # paid_fee 4.999523925 KRW, KRW has 0 decimals
    assert fills[0].liquidity_side == LiquiditySide.TAKER


def test_limit_order_states(upbit_fixture: Callable[[str], bytes]) -> None:
    wait = msgspec.json.decode(upbit_fixture("rest_order_get_wait_no_trades.json"), type=UpbitOrder)
    report = wait.parse_to_order_status_report(ACCOUNT, BTC_KRW, None, 0, 8, 0)
    assert report.order_status == OrderStatus.ACCEPTED
    assert str(report.price) == "10000000"
    assert str(report.quantity) == "0.00050000"
    assert wait.parse_to_fill_reports(ACCOUNT, BTC_KRW, None, 0, 8, KRW, 0) == []

    closed = msgspec.json.decode(upbit_fixture("rest_orders_closed.json"), type=list[UpbitOrder])
    assert {o.order_status() for o in closed if o.executed_volume == 0} == {OrderStatus.CANCELED}

    sell = msgspec.json.decode(upbit_fixture("rest_order_get_market_sell_done_with_trades.json"), type=UpbitOrder)
    assert sell.order_status() == OrderStatus.FILLED
    fills = sell.parse_to_fill_reports(ACCOUNT, BTC_KRW, None, 0, 8, KRW, 0)
    assert fills[0].order_side == OrderSide.SELL
    assert fills[0].commission == Money(5, KRW)  # 4.99743563


def test_cancel_and_new_and_batch_results(upbit_fixture: Callable[[str], bytes]) -> None:
    result = msgspec.json.decode(upbit_fixture("rest_order_cancel_and_new.json"), type=UpbitCancelAndNewResult)
    assert result.uuid == "348ad871-1f2e-4caa-bb9d-b6b4ae4d333e"  # the OLD order
    assert result.new_order_uuid == "5cb0988d-879d-405d-93e0-2530e9d6dff2"
    batch = msgspec.json.decode(upbit_fixture("rest_orders_open_batch_cancel.json"), type=UpbitBatchCancelResult)
    assert batch.success.count == 1
    assert batch.success.orders[0].market == "KRW-BTC"


def test_accounts_and_chance(upbit_fixture: Callable[[str], bytes]) -> None:
    accounts = msgspec.json.decode(upbit_fixture("rest_accounts.json"), type=list[UpbitBalance])
    balance = accounts[0].parse_to_account_balance()
    assert str(balance.free) == "50000 KRW"
    assert balance.total == balance.free + balance.locked
    chance = msgspec.json.decode(upbit_fixture("rest_orders_chance_KRW-BTC.json"), type=UpbitOrderChance)
    assert chance.taker_fee == Decimal("0.0005")
    assert chance.market.bid.min_total == Decimal("5000")
    assert chance.market.max_total == Decimal("1000000000")
    assert "price" in chance.market.bid_types
    assert "market" in chance.market.ask_types


def test_myasset_keeps_all_digits(upbit_fixture: Callable[[str], bytes]) -> None:
    asset = PRIVATE.decode(upbit_fixture("ws_myasset_default_docs_example.json"))
    assert asset.assets[0].balance == Decimal("1386929.37231066771348207123")
    assert asset.assets[0].locked == Decimal("10329.670127489597585685")


def test_myorder_trade_event(upbit_fixture: Callable[[str], bytes]) -> None:
    event = PRIVATE.decode(upbit_fixture("ws_myorder_default_docs_example.json"))
    assert event.state == "trade"
    assert event.trade_uuid == "68315169-fba4-4175-ade3-aff14a616657"
    assert event.identifier == "test-1"
    assert event.is_maker is True
    assert event.trade_fee == Decimal("22.467660028283017")


def test_market_all_warning_flags(upbit_fixture: Callable[[str], bytes]) -> None:
    rows = msgspec.json.decode(upbit_fixture("rest_market_all_is_details_subset.json"), type=list[UpbitMarketInfo])
    flags = {r.market: r.has_warning for r in rows}
    assert flags == {"KRW-BTC": False, "KRW-AERGO": True, "KRW-ZIL": True, "BTC-SIGN": True}
    assert rows[3].quote_currency == "BTC"
    assert rows[3].base_currency == "SIGN"


def test_error_bodies(upbit_fixture: Callable[[str], bytes]) -> None:
    assert parse_error_body(upbit_fixture("rest_error_401_invalid_access_key.json")) == (
        "invalid_access_key",
        "Invalid access key",
    )
    assert parse_error_body(upbit_fixture("rest_error_404_code_not_found.json")) == (404, "Code not found")
    assert parse_error_body(upbit_fixture("rest_error_400_invalid_price_bid_docs.json"))[0] == "invalid_price_bid"
    assert parse_error_body(upbit_fixture("rest_error_400_missing_parameter.json"))[0] == 400
    assert parse_error_body(upbit_fixture("rest_error_400_type_mismatch.json"))[0] == 400
    collected = json.loads(upbit_fixture("rest_errors_collected_by_ccxt.json"))
    names = [parse_error_body(json.dumps(body).encode())[0] for body in collected]
    assert "insufficient_funds_bid" in names
    assert "order_not_found" in names
    assert parse_error_body(b"Too many API requests.") == (None, "Too many API requests.")


def test_ws_error_frames(upbit_fixture: Callable[[str], bytes]) -> None:
    decoder = msgspec.json.Decoder(UpbitWsControl)
    names = {
        decoder.decode(upbit_fixture(f)).error.name
        for f in (
            "ws_error_invalid_auth_docs.json",
            "ws_error_invalid_param.json",
            "ws_error_no_ticket.json",
            "ws_error_wrong_format.json",
        )
    }
    assert names == {"INVALID_AUTH", "INVALID_PARAM", "NO_TICKET", "WRONG_FORMAT"}
    assert decoder.decode(upbit_fixture("ws_status_up.json")).status == "UP"


def test_observed_remaining_req_headers(upbit_fixture: Callable[[str], bytes]) -> None:
    rows = json.loads(upbit_fixture("rest_remaining_req_headers_observed.json"))
    parsed = {parse_remaining_req(r["Remaining-Req"]) for r in rows if r.get("Remaining-Req")}
    groups = {g for g, _ in parsed}
    assert {"default", "order", "order-test", "order-cancel-all", "candles", "crix-trades"} <= groups
    assert ("order-cancel-all", 0) in parsed
