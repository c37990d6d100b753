"""
Real Upbit payloads from ``shared/fixtures/upbit`` (read as they are) and the few things derived from them.

Derived, and said so where used: market rows for KRW pairs that are in ``rest_ticker_all_KRW.json`` but not
in the four-row ``market/all`` subset (names = the base code, no warning flags); books for pairs without a
recorded book (levels on the pair's tick grid around its recorded ticker price, sizes taken in turn from
the recorded KRW-BTC book); error bodies for names with no recorded body (same envelope).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from functools import cache
from functools import lru_cache
from pathlib import Path
from typing import Any

from adapters.upbit.tick_scheme import krw_tick_size


def fixtures_dir() -> Path:
    """Return ``shared/fixtures/upbit`` (``$ARB_SHARED_DIR`` overrides the shared folder)."""
    repo = Path(__file__).resolve().parents[3]
    shared = Path(os.environ.get("ARB_SHARED_DIR", repo.parent / "shared"))
    return shared / "fixtures" / "upbit"


@cache
def raw(name: str) -> bytes:
    """Return the bytes of one fixture file, as stored."""
    return (fixtures_dir() / name).read_bytes()


def load(name: str) -> Any:
    """Return one fixture file parsed as JSON (fractional numbers as ``Decimal``, keys in file order)."""
    return json.loads(raw(name), parse_float=Decimal)


def error_body(name: str, message: str) -> bytes:
    """Return an error envelope (for names without a recorded body)."""
    return json.dumps({"error": {"name": name, "message": message}}, ensure_ascii=False).encode()


def recorded_error(name: str) -> bytes:
    """Return a recorded error body by ``error.name`` (the docs/live/ccxt fixture files)."""
    for file in (
        "rest_error_401_invalid_access_key.json",
        "rest_error_400_invalid_price_bid_docs.json",
    ):
        body = load(file)
        if body["error"]["name"] == name:
            return raw(file)
    for body in load("rest_errors_collected_by_ccxt.json"):
        if body["error"]["name"] == name:
            return json.dumps(body, ensure_ascii=False).encode()
    raise KeyError(name)


@lru_cache(maxsize=1)
def market_rows() -> tuple[dict[str, Any], ...]:
    """Return ``market/all?is_details=true`` rows: the recorded subset plus derived KRW rows."""
    rows = [dict(r) for r in load("rest_market_all_is_details_subset.json")]
    known = {r["market"] for r in rows}
    caution = {k: False for k in rows[0]["market_event"]["caution"]}
    for ticker in load("rest_ticker_all_KRW.json"):
        market = ticker["market"]
        if market in known:
            continue
        base = market.split("-", 1)[1]
        rows.append(
            {
                "market": market,
                "korean_name": base,
                "english_name": base,
                "market_event": {"warning": False, "caution": dict(caution)},
            },
        )
        known.add(market)
    return tuple(rows)


@lru_cache(maxsize=1)
def ticker_prices() -> dict[str, Decimal]:
    """Return the recorded last price per KRW pair (the two ticker fixtures)."""
    prices = {t["market"]: t["trade_price"] for t in load("rest_ticker_all_KRW.json")}
    for t in load("rest_ticker_KRW-BTC.json"):
        prices[t["market"]] = t["trade_price"]
    return prices


@lru_cache(maxsize=1)
def recorded_tick_sizes() -> dict[str, Decimal]:
    """Return the recorded tick sizes (``rest_orderbook_instruments_KRW-BTC.json``)."""
    return {r["market"]: Decimal(r["tick_size"]) for r in load("rest_orderbook_instruments_KRW-BTC.json")}


def tick_size_for(market: str, price: Decimal | None) -> Decimal:
    """Return the recorded tick, else the KRW table's tick at ``price`` (BTC pairs: 1e-8, USDT: 0.01)."""
    recorded = recorded_tick_sizes().get(market)
    if recorded is not None:
        return recorded
    quote = market.split("-", 1)[0]
    if quote == "KRW":
        return krw_tick_size(price if price is not None else Decimal(1000))
    if quote == "BTC":
        return Decimal("0.00000001")
    return Decimal("0.01")


@lru_cache(maxsize=1)
def recorded_book_units() -> tuple[dict[str, Decimal], ...]:
    """Return the recorded 30-unit KRW-BTC book (``rest_orderbook_KRW-BTC.json``)."""
    return tuple(load("rest_orderbook_KRW-BTC.json")[0]["orderbook_units"])


def derived_book(
    market: str,
    price: Decimal,
    tick: Decimal,
    units: int = 30,
    use_recording: bool = True,
) -> list[dict[str, Decimal]]:
    """Return KRW-BTC's recorded book, or a book around ``price`` on the ``tick`` grid (recorded sizes)."""
    if market == "KRW-BTC" and use_recording:
        return [dict(u) for u in recorded_book_units()[:units]]
    sizes = recorded_book_units()
    best_bid = (price / tick).to_integral_value() * tick
    out = []
    for i in range(units):
        unit = sizes[i % len(sizes)]
        out.append(
            {
                "bid_price": best_bid - tick * i,
                "bid_size": unit["bid_size"] * 100,
                "ask_price": best_bid + tick * (i + 1),
                "ask_size": unit["ask_size"] * 100,
            },
        )
    return out
