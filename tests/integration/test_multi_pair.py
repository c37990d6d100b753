"""
Several pairs in one strategy instance: each pair trades on its own prices, keeps its own state, and the
max-holding exit closes a pair whatever its edge.

The second pair (ETHUSDT.BINANCE / KRW-ETH.UPBIT) is built from the real BTC bars of the shipped catalog
with Upbit's prices scaled by 0.99 (its premium sits 100 bps lower), so the two pairs cross their
thresholds at different times; the instruments follow the real specs.
"""

from decimal import Decimal

from nautilus_trader.model.currencies import BTC
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price

from arb_plugin.instruments import binance_spot_instrument
from arb_plugin.instruments import binance_spot_symbol_info
from arb_plugin.instruments import upbit_krw_instrument
from arb_plugin.pairs import make_pair
from tests.support import catalog_bars
from tests.support import fills_of
from tests.support import make_engine
from tests.support import ns
from tests.support import run_strategy
from tests.support import strategy_config

D = Decimal
START, END = "2024-11-20", "2024-12-15"


def eth_engine():
    eth = Currency.from_str("ETH")
    engine = make_engine(
        binance_balances=(Money(40_000, USDT), Money("0.2", BTC), Money("0.2", eth)),
        upbit_balances=(Money(60_000_000, KRW), Money("0.2", BTC), Money("0.2", eth), Money(0, USDT)),
    )
    info = dict(binance_spot_symbol_info("BTCUSDT"), symbol="ETHUSDT", baseAsset="ETH")
    engine.add_instrument(binance_spot_instrument(info))
    engine.add_instrument(upbit_krw_instrument("ETH", D(100_000_000)))
    return engine


def eth_bars(bars: list[Bar]) -> list[Bar]:
    out = []
    for bar in bars:
        iid = bar.bar_type.instrument_id.value
        if iid == "BTCUSDT.BINANCE":
            new_type, scale = "ETHUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL", D(1)
        elif iid == "KRW-BTC.UPBIT":
            new_type, scale = "KRW-ETH.UPBIT-1-MINUTE-LAST-EXTERNAL", D("0.99")
        else:
            continue

        def px(p: Price, scale: Decimal = scale) -> Price:
            return Price((p.as_decimal() * scale).quantize(D(1000) if scale != 1 else D("0.01")), p.precision)

        out.append(
            Bar(
                BarType.from_str(new_type),
                px(bar.open),
                px(bar.high),
                px(bar.low),
                px(bar.close),
                bar.volume,
                bar.ts_event,
                bar.ts_init,
            )
        )
    return out


def test_two_pairs_trade_independently_in_one_instance():
    bars = catalog_bars(START, END)
    data = sorted(bars + eth_bars(bars), key=lambda b: b.ts_init)
    config = strategy_config(pairs=[make_pair("BTC"), make_pair("ETH")], outlier_jump_pct=D(50))
    engine, strategy, recorder = run_strategy(START, END, config, engine=eth_engine(), data=data)
    try:
        by_pair: dict[str, list[int]] = {}
        for fill, order in fills_of(engine):
            pair = next(t for t in order.tags if t.startswith("pair=")).split("=")[1]
            by_pair.setdefault(pair, []).append(fill.ts_event)
        assert set(by_pair) == {"BTCUSDT", "ETHUSDT"}
        assert by_pair["BTCUSDT"] != by_pair["ETHUSDT"]  # the lower ETH premium trades at other times
        closed = {c.symbol for c in recorder.closed}
        assert closed == {"BTCUSDT", "ETHUSDT"}
        snaps = strategy.pair_snapshots()
        assert set(snaps) == {"BTCUSDT", "ETHUSDT"} and all(s.status.value == "FLAT" for s in snaps.values())
        # orders of each pair only ever touch that pair's instruments
        for _, order in fills_of(engine):
            pair = next(t for t in order.tags if t.startswith("pair=")).split("=")[1]
            assert order.instrument_id.symbol.value in (
                {"BTCUSDT", "KRW-BTC"} if pair == "BTCUSDT" else {"ETHUSDT", "KRW-ETH"}
            )
    finally:
        engine.dispose()


def test_max_holding_time_exits_whatever_the_edge():
    # the 2024-11-21 03:09 entry converges only at 20:12; a 60-minute cap exits it at 04:09
    engine, _, recorder = run_strategy("2024-11-21 03:00", "2024-11-21 21:00", strategy_config(max_holding_mins=60))
    try:
        first = recorder.closed[0]
        assert first.reason == "max_holding"
        assert first.ts_event == ns("2024-11-21 04:09")
    finally:
        engine.dispose()
