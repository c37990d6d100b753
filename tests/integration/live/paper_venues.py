"""
Both fake venues on one background event loop, replaying the same real minutes (for paper-node tests and the
live benchmark).

- Binance: :class:`tests.fakes.binance.FakeBinanceSpot` with ``BTCUSDT`` from
  ``../shared/data/market/binance`` (the month of ``start``).
- Upbit: the adapter issue's :class:`tests.fakes.upbit.FakeUpbitServer`; this driver publishes its
  ``KRW-BTC`` book from ``../shared/data/market/upbit`` (same minutes) and its ``KRW-USDT`` book from the
  Bank of Korea's daily USD/KRW rate of that day (no public Upbit KRW-USDT minute history exists; the
  shipped catalog uses the same proxy).

One driver task advances both replays together, four quotes per historical minute (open, high, low,
close), so the two venues stay on the same minute. ``set_binance_factor`` scales Binance's prices: the
tests' lever on the premium, to make the strategy enter and exit.
"""

from __future__ import annotations

import asyncio
import csv
import threading
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from adapters.upbit.tick_scheme import krw_tick_size
from tests.fakes.binance import FakeBinanceSpot
from tests.fakes.binance import make_fake_binance
from tests.fakes.binance.replay import load_minutes
from tests.fakes.threaded import LoopThread
from tests.fakes.upbit import DEFAULT_ACCESS_KEY
from tests.fakes.upbit import DEFAULT_SECRET_KEY
from tests.fakes.upbit import FakeUpbitServer

BINANCE_KEY = "paperBinanceKey0123456789abcdef"
BINANCE_SECRET = "paperBinanceSecret0123456789abcdef"
UPBIT_ACCESS_KEY = DEFAULT_ACCESS_KEY
UPBIT_SECRET_KEY = DEFAULT_SECRET_KEY
DEFAULT_START = datetime(2024, 9, 1, 0, 0)  # both venues have every minute of the next 200


def usdkrw_on(market_dir: Path, day: datetime) -> Decimal:
    """The daily USD/KRW rate of ``day`` (ECOS series)."""
    with (market_dir / "fx" / "usdkrw_ecos_daily_20220811_20251214.csv").open(encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            if row["date"] == f"{day:%Y-%m-%d}":
                return Decimal(row["krw_usd"])
    raise ValueError(f"no USD/KRW rate for {day:%Y-%m-%d}")


def _units(bid: Decimal, ask: Decimal, tick: Decimal, size: Decimal, levels: int = 5) -> list[dict[str, Decimal]]:
    return [
        {"bid_price": bid - tick * i, "bid_size": size, "ask_price": ask + tick * i, "ask_size": size}
        for i in range(levels)
    ]


class PaperVenues(LoopThread):
    """
    The two fakes and their replay driver.

    Parameters
    ----------
    market_dir : Path
        ``../shared/data/market``.
    start : datetime
        The first replayed minute (UTC); both venues must have data from there.
    minutes : int
        Minutes replayed (then the replay loops).
    tick_interval_s : float
        Wall time between two quotes of each venue.
    """

    thread_name = "paper-venues"
    start_timeout_s = 15.0

    def __init__(
        self,
        market_dir: Path,
        start: datetime = DEFAULT_START,
        minutes: int = 200,
        tick_interval_s: float = 0.05,
    ) -> None:
        self.binance: FakeBinanceSpot = make_fake_binance(
            market_dir, start=start, minutes=minutes, csv_name=f"binance/binance_BTC_USDT_{start:%Y_%m}_1m.csv.gz",
            api_key=BINANCE_KEY, api_secret=BINANCE_SECRET, tick_interval_s=None,
        )
        self.upbit = FakeUpbitServer(enforce_rate_limits=False)
        self.tick_interval_s = tick_interval_s
        upbit_minutes = load_minutes(market_dir / "upbit" / "upbit_BTC_KRW_1m_20240824_20250824.csv.gz", start,
                                     minutes)
        if upbit_minutes[0].ts != start:
            raise ValueError(f"Upbit data has no minute {start}")
        self._upbit_prices = [p for m in upbit_minutes for p in (m.open, m.high, m.low, m.close)]
        self._upbit_sizes = [max((m.volume / 8).quantize(Decimal("0.00000001")), Decimal("0.001"))
                             for m in upbit_minutes for _ in range(4)]
        self.usdkrw = usdkrw_on(market_dir, start)
        self.ticks = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._driver: asyncio.Task[None] | None = None
        self.paused = False

    # -- lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> PaperVenues:
        await self.binance.start()
        await self.upbit.start()
        self._prepare_upbit()
        self._loop = asyncio.get_running_loop()
        self._driver = asyncio.create_task(self._drive())
        return self

    async def stop(self) -> None:
        if self._driver is not None:
            self._driver.cancel()
        await self.binance.stop()
        await self.upbit.stop()

    # -- levers --------------------------------------------------------------------------------------

    def set_binance_factor(self, factor: Decimal) -> None:
        """Scale Binance's prices (the premium moves the other way)."""
        for replay in self.binance.replay.values():
            replay.factor = factor

    def node_environ(self) -> dict[str, str]:
        """``ARB_*`` overrides and keys pointing a node at the fakes."""
        return {
            "ARB_VENUES__BINANCE__BASE_URL_HTTP": self.binance.base_url_http,
            "ARB_VENUES__BINANCE__BASE_URL_WS": self.binance.base_url_ws,
            "ARB_VENUES__UPBIT__BASE_URL_HTTP": self.upbit.base_url_http,
            "ARB_VENUES__UPBIT__BASE_URL_WS": self.upbit.base_url_ws,
            "ARB_VENUES__UPBIT__BASE_URL_WS_PRIVATE": self.upbit.base_url_ws_private,
            "BINANCE_API_KEY": BINANCE_KEY,
            "BINANCE_API_SECRET": BINANCE_SECRET,
            "UPBIT_ACCESS_KEY": UPBIT_ACCESS_KEY,
            "UPBIT_SECRET_KEY": UPBIT_SECRET_KEY,
        }

    # -- replay --------------------------------------------------------------------------------------

    def _prepare_upbit(self) -> None:
        exchange = self.upbit.exchange
        for code in ("KRW-BTC", "KRW-USDT"):
            if code not in exchange.markets:
                raise RuntimeError(f"the fake Upbit venue has no {code} market")
        self._publish_books_sync(0)

    def _books(self, i: int) -> dict[str, list[dict[str, Decimal]]]:
        n = i % len(self._upbit_prices)
        price = self._upbit_prices[n]
        tick = krw_tick_size(price)
        fx_tick = krw_tick_size(self.usdkrw)
        fx_bid = (self.usdkrw / fx_tick).to_integral_value() * fx_tick
        return {
            "KRW-BTC": _units(price, price + tick, tick, self._upbit_sizes[n]),
            "KRW-USDT": _units(fx_bid, fx_bid + fx_tick, fx_tick, Decimal(50_000)),
        }

    def _publish_books_sync(self, i: int) -> None:
        for code, units in self._books(i).items():
            self.upbit.exchange.set_book(code, units)

    async def _drive(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval_s)
            if self.paused:
                continue
            self.ticks += 1
            await self.binance.tick()
            books = self._books(self.ticks)
            await self.upbit.publish_orderbook("KRW-BTC", books["KRW-BTC"])
            if self.ticks % 4 == 0:
                await self.upbit.publish_orderbook("KRW-USDT", books["KRW-USDT"])


def serve(market_dir: Path) -> None:
    """
    Run the venues in this process and take commands on stdin (the benchmark keeps them out of the node's
    process, as real venues are): prints one JSON line with :meth:`PaperVenues.node_environ`, then answers
    each command line with ``ok ...``: ``factor <x>``, ``drop [refuse_secs]``, ``quit``.
    """
    import json
    import sys

    venues = PaperVenues(market_dir).start_in_thread()
    print(json.dumps(venues.node_environ()), flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "factor":
            venues.set_binance_factor(Decimal(args[0]))
            print("ok", flush=True)
        elif command == "drop":
            refuse = float(args[0]) if args else 0.0
            dropped = venues.call(venues.binance.drop_connections(refuse_for_s=refuse))
            print(f"ok {dropped}", flush=True)
        elif command == "quit":
            break
        else:
            print(f"error unknown command {command!r}", flush=True)
    venues.stop_thread()
    print("ok", flush=True)


if __name__ == "__main__":
    import os

    repo = Path(__file__).resolve().parents[3]
    serve(Path(os.environ.get("ARB_SHARED_DIR", repo.parent / "shared")) / "data" / "market")
