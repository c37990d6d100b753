"""The data client's per-market state: a precision change starts the book memo afresh with the token caches."""

from __future__ import annotations

from decimal import Decimal

from adapters.upbit.data import _MarketState
from adapters.upbit.orderbook import UnitTokens
from adapters.upbit.schemas.ws import DEFAULT_UNIT_KEYS
from adapters.upbit.schemas.ws import UpbitWsOrderbookUnit
from arb_plugin.instruments import krw_btc_upbit
from tests.unit.upbit.test_orderbook import units_json


def _frame(bid_size: str) -> bytes:
    return units_json([
        {"bid_price": Decimal(1000 - i), "bid_size": Decimal(bid_size if i == 0 else "0.55555555"),
         "ask_price": Decimal(2000 + i), "ask_size": Decimal("0.25")}
        for i in range(30)
    ])


def test_new_precisions_start_the_book_memo_afresh() -> None:
    tokens = UnitTokens(DEFAULT_UNIT_KEYS, UpbitWsOrderbookUnit)
    state = _MarketState(krw_btc_upbit(), dedup_window=16)
    assert state.size_precision == 8
    tokens.to_book(_frame("0.12345678"), state.price_raw, state.size_raw, state.book_memo)
    state.set_precisions(state.price_precision, 4)
    # one unit changed: with a memo kept from before, the 29 others would keep their 8-decimal values
    book = tokens.to_book(_frame("0.1234"), state.price_raw, state.size_raw, state.book_memo)
    assert book.bid_sizes == [1234 * 10**12] + [5556 * 10**12] * 29  # 0.55555555 at 4 decimals
    assert book.ask_sizes == [25 * 10**14] * 30
    state.set_precisions(state.price_precision, 4)  # unchanged: the memo is kept
    assert state.book_memo.units
