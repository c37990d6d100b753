"""
Real Binance prices for the fake: 1-minute OHLCV rows from ``../shared/data/market/binance`` turned into a
sequence of top-of-book quotes.

Each minute gives four quotes walking open -> high -> low -> close (the order a 1-minute candle allows);
the bid is that price, the ask one tick (0.01 USDT) above, sizes a quarter of the minute's volume split
between the sides. Exact decimals throughout; formatting to Binance's 8 decimals happens in the server.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

TICK = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Minute:
    """One 1-minute candle."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class BookTop:
    """Best bid and ask with sizes (what a ``bookTicker`` frame carries)."""

    bid: Decimal
    bid_qty: Decimal
    ask: Decimal
    ask_qty: Decimal


def _open_text(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:  # type: ignore[operator]
        yield from fh


def load_minutes(path: Path, start: datetime | None = None, count: int = 240) -> list[Minute]:
    """Read ``count`` consecutive candles from a Binance CSV (gzip or not, BOM or not), from ``start``."""
    out: list[Minute] = []
    for row in csv.DictReader(_open_text(path)):
        ts = datetime.fromisoformat(row["timestamp"])
        if start is not None and ts < start:
            continue
        out.append(Minute(ts, Decimal(row["open"]), Decimal(row["high"]), Decimal(row["low"]),
                          Decimal(row["close"]), Decimal(row["volume"])))
        if len(out) >= count:
            break
    if not out:
        raise ValueError(f"{path}: no rows at or after {start}")
    return out


def book_tops(minutes: list[Minute]) -> list[BookTop]:
    """Four quotes per candle: open, high, low, close."""
    tops: list[BookTop] = []
    for m in minutes:
        qty = max((m.volume / 8).quantize(Decimal("0.00001")), Decimal("0.00001"))
        for price in (m.open, m.high, m.low, m.close):
            tops.append(BookTop(price, qty, price + TICK, qty))
    return tops


class QuoteReplay:
    """Cycle through the quotes; ``factor`` scales every price (a test's lever on the premium)."""

    def __init__(self, tops: list[BookTop]) -> None:
        if not tops:
            raise ValueError("no quotes to replay")
        self._tops = tops
        self._i = -1
        self.factor = Decimal(1)

    def next(self) -> BookTop:
        self._i = (self._i + 1) % len(self._tops)
        top = self._tops[self._i]
        if self.factor == 1:
            return top
        bid = (top.bid * self.factor).quantize(TICK)
        return BookTop(bid, top.bid_qty, bid + TICK, top.ask_qty)
