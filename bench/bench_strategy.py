"""
Strategy throughput: quotes/s of a bare NautilusTrader BacktestEngine with a no-op strategy, and of the same
engine with ArbitrageStrategy, on the same >= 1,000,000 quotes; and their ratio (target >= 0.75).

Throughput is quotes per second of process CPU time in ``engine.run()`` (best of N interleaved runs; wall time
is printed beside it): on a shared machine CPU time is the steadier figure.

Quotes are built from the real 1-minute data in ../shared/data/market: for every minute both venues have,
five top-of-book quotes per venue (open, high, low, close, close at 0/12/24/36/48 s, each -/+ 1 bps rounded
onto the venue's grid) and one KRW-USDT quote an hour from the daily USD/KRW series.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.config import BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import PortfolioConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.currencies import BTC
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.catalog import find_sources
from arb_plugin.catalog import read_fx_csv
from arb_plugin.catalog import read_ohlcv_csv
from arb_plugin.instruments import btcusdt_binance
from arb_plugin.instruments import fx_proxy_instrument
from arb_plugin.instruments import krw_btc_upbit
from arb_plugin.pairs import make_pair
from arb_plugin.pricing import round_price
from arb_plugin.strategy import ArbitrageStrategy
from arb_plugin.strategy import ArbitrageStrategyConfig

MARKET = Path(os.environ.get("ARB_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")) / "data" / "market"
SEC = 1_000_000_000
ONE_BPS = Decimal("0.0001")


class NoOpConfig(StrategyConfig, frozen=True):
    instrument_ids: list[str]


class NoOp(Strategy):
    """Subscribes to the same quotes and does nothing with them."""

    def __init__(self, config: NoOpConfig) -> None:
        super().__init__(config)
        self._ids = config.instrument_ids

    def on_start(self) -> None:
        from nautilus_trader.model.identifiers import InstrumentId

        for iid in self._ids:
            self.subscribe_quote_ticks(InstrumentId.from_str(iid))

    def on_quote_tick(self, tick: QuoteTick) -> None:
        pass


def build_quotes() -> list[QuoteTick]:
    upbit_files, binance_files, fx_file = find_sources(MARKET)
    upbit = {r.ts_open: r for f in upbit_files for r in read_ohlcv_csv(f)}
    binance = {r.ts_open: r for f in binance_files for r in read_ohlcv_csv(f) if r.ts_open in upbit}
    minutes = sorted(set(upbit) & set(binance))
    size = Quantity.from_str("1.00000000")
    quotes: list[QuoteTick] = []
    for instrument, rows in ((krw_btc_upbit(), upbit), (btcusdt_binance(), binance)):
        iid = instrument.id
        for ts in minutes:
            r = rows[ts]
            for k, px in enumerate((r.open, r.high, r.low, r.close, r.close)):
                bid = round_price(instrument, px * (1 - ONE_BPS), "down")
                ask = round_price(instrument, px * (1 + ONE_BPS), "up")
                t = ts + k * 12 * SEC
                quotes.append(QuoteTick(iid, bid, ask, size, size, t, t))
    fx = fx_proxy_instrument()
    rates = dict(read_fx_csv(fx_file))
    from datetime import UTC
    from datetime import datetime
    from datetime import timedelta

    hours = sorted({ts - ts % (3600 * SEC) for ts in minutes})
    for h in hours:
        day = datetime.fromtimestamp(h / SEC, tz=UTC).date() - timedelta(days=1)  # yesterday's rate: known
        rate = rates[day]
        px = round_price(fx, rate, "down")
        quotes.append(QuoteTick(fx.id, px, px, size, size, h, h))
    quotes.sort(key=lambda q: q.ts_init)
    return quotes


def make_engine() -> BacktestEngine:
    engine = BacktestEngine(
        BacktestEngineConfig(portfolio=PortfolioConfig(use_mark_xrates=True), logging=LoggingConfig(log_level="ERROR")),
    )
    for venue, balances in (
        ("BINANCE", [Money(1_000_000, USDT), Money(10, BTC)]),
        ("UPBIT", [Money(1_500_000_000, KRW), Money(10, BTC), Money(0, USDT)]),
    ):
        engine.add_venue(
            Venue(venue), OmsType.NETTING, AccountType.CASH, starting_balances=balances, base_currency=None
        )
    for instrument in (btcusdt_binance(), krw_btc_upbit(), fx_proxy_instrument()):
        engine.add_instrument(instrument)
    return engine


def timed_run(quotes: list[QuoteTick], strategy: Strategy) -> tuple[float, float]:
    """Run the engine once; return the process CPU seconds and the wall seconds of ``engine.run()``."""
    engine = make_engine()
    engine.add_strategy(strategy)
    engine.add_data(quotes)
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    engine.run()
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    engine.dispose()
    return cpu, wall


def main() -> int:
    t0 = time.perf_counter()
    quotes = build_quotes()
    n = len(quotes)
    print(
        f"data: {n:,} quotes (BTCUSDT.BINANCE, KRW-BTC.UPBIT, KRW-USDT.UPBIT) from real 1-minute data, "
        f"built in {time.perf_counter() - t0:.1f} s"
    )
    if n < 1_000_000:
        print("error: fewer than 1,000,000 quotes")
        return 1
    ids = ["BTCUSDT.BINANCE", "KRW-BTC.UPBIT", "KRW-USDT.UPBIT"]
    runs = int(os.environ.get("ARB_BENCH_RUNS", "3"))
    bare: list[tuple[float, float]] = []
    arb: list[tuple[float, float]] = []
    strategy = None
    for _ in range(runs):  # interleaved, best of N: the machine is shared
        bare.append(timed_run(quotes, NoOp(NoOpConfig(instrument_ids=ids))))
        strategy = ArbitrageStrategy(
            ArbitrageStrategyConfig(
                pairs=[make_pair("BTC")],
                market_data="quotes",
                fx_data="quotes",
                stale_quote_ms=2000,
                fx_max_age_secs=2 * 86_400,
            ),
        )
        arb.append(timed_run(quotes, strategy))
    assert strategy is not None
    c = strategy.report_counters()
    bare_cpu, arb_cpu = min(x[0] for x in bare), min(x[0] for x in arb)
    bare_wall, arb_wall = min(x[1] for x in bare), min(x[1] for x in arb)
    print(f"quotes/s of engine.run(), best of {runs} interleaved runs: process CPU time (wall time in brackets)")
    print(f"bare BacktestEngine + no-op strategy : {n / bare_cpu:12,.0f} quotes/s  ({n / bare_wall:,.0f} wall)")
    print(f"same engine + ArbitrageStrategy      : {n / arb_cpu:12,.0f} quotes/s  ({n / arb_wall:,.0f} wall)")
    print(
        f"ratio                                : {bare_cpu / arb_cpu:12.3f}  ({bare_wall / arb_wall:.3f} wall; target >= 0.75)"
    )
    print(
        f"strategy work: {c['entries']} entries, {c['round_trips']} round trips, {c['outliers']} outlier prints kept out"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
