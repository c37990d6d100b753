"""A fake Binance spot venue (REST + combined-stream WebSocket) replaying real prices on 127.0.0.1."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from tests.fakes.binance.replay import QuoteReplay
from tests.fakes.binance.replay import book_tops
from tests.fakes.binance.replay import load_minutes
from tests.fakes.binance.server import FakeBinanceSpot
from tests.fakes.binance.server import fmt8

__all__ = ["FakeBinanceSpot", "QuoteReplay", "fmt8", "make_fake_binance"]

DEFAULT_FILE = "binance/binance_BTC_USDT_2024_09_1m.csv.gz"


def make_fake_binance(
    market_dir: Path,
    start: datetime | None = None,
    minutes: int = 240,
    csv_name: str = DEFAULT_FILE,
    symbols: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> FakeBinanceSpot:
    """A fake serving ``BTCUSDT`` (from ``arb_plugin.instruments``) with real prices from ``csv_name``."""
    if symbols is None:
        from tests.fakes.binance.symbols import default_symbols

        symbols = default_symbols()
    tops = book_tops(load_minutes(market_dir / csv_name, start, minutes))
    return FakeBinanceSpot(symbols, {"BTCUSDT": QuoteReplay(tops)}, **kwargs)
