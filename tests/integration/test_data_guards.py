"""
The strategy on QuoteTicks (tick data), and its guards against bad data: a stale leg or an outlier print
must not be traded even when the edge it shows clears the threshold.

Prices are real: the closes of 2024-11-20 10:29 UTC from the shipped catalog (edge about -20 bps there,
well below the 100 bps entry), quoted at -/+ 1 bps; the scenarios move them in time or add one print.
"""

from decimal import Decimal

import pytest
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from arb_plugin.fill_model import HalfSpreadFillModel
from arb_plugin.fill_model import HalfSpreadFillModelConfig
from tests.support import catalog_bars
from tests.support import fills_of
from tests.support import make_engine
from tests.support import ns
from tests.support import run_strategy
from tests.support import strategy_config

D = Decimal
T0 = ns("2024-11-20 10:30")
SEC = 1_000_000_000
BINANCE = InstrumentId.from_str("BTCUSDT.BINANCE")
UPBIT = InstrumentId.from_str("KRW-BTC.UPBIT")
FX = InstrumentId.from_str("KRW-USDT.UPBIT")


def closes() -> dict[str, Decimal]:
    bars = catalog_bars("2024-11-20 10:29", "2024-11-20 10:30")
    out = {}
    for bar in bars:
        out[bar.bar_type.instrument_id.value] = bar.close.as_decimal()
    return out


def quote(iid: InstrumentId, mid: Decimal, ts: int, precision: int) -> QuoteTick:
    half = mid / 10_000
    q = Quantity.from_str("5.00000000")
    bid, ask = Price(mid - half, precision), Price(mid + half, precision)
    return QuoteTick(iid, bid, ask, q, q, ts, ts)


def scenario(upbit_moves: list[tuple[int, Decimal]], binance_at: int = T0) -> list[QuoteTick]:
    """FX quote, one Binance quote, then Upbit prints at (time, multiple of the real close)."""
    c = closes()
    data = [
        quote(FX, c["KRW-USDT.UPBIT"], T0 - 60 * SEC, 4),
        quote(UPBIT, c["KRW-BTC.UPBIT"], T0 - 30 * SEC, 0),
        quote(BINANCE, c["BTCUSDT.BINANCE"], binance_at, 8),
    ]
    data += [quote(UPBIT, (c["KRW-BTC.UPBIT"] * m).quantize(D(1000)), ts, 0) for ts, m in upbit_moves]
    return sorted(data, key=lambda x: x.ts_init)


def run(data, **overrides):
    config = strategy_config(
        market_data="quotes", fx_data="quotes", stale_quote_ms=2000, fx_max_age_secs=120, **overrides
    )
    # quotes carry their own spread: no assumed half-spread in the fills
    engine = make_engine(
        fill_models={
            v: HalfSpreadFillModel(HalfSpreadFillModelConfig(half_spread_bps="0")) for v in ("BINANCE", "UPBIT")
        }
    )
    return run_strategy("", "", config, engine=engine, data=data)


def test_quotes_mode_trades_a_real_edge():
    # Upbit +2 % one second after Binance: a genuine premium, confirmed by three prints
    data = scenario([(T0 + SEC, D("1.02")), (T0 + 2 * SEC, D("1.02")), (T0 + 3 * SEC, D("1.02"))])
    engine, strategy, recorder = run(data, outlier_jump_pct=D(5))
    try:
        assert strategy.counters["entries"] == 1
        entry = [s for s in recorder.states if s.status.value == "ENTERING"][0]
        assert entry.direction.value == "BUY_BINANCE" and entry.ts_event == T0 + SEC
        assert len(fills_of(engine)) == 2
    finally:
        engine.dispose()


def test_stale_leg_is_not_traded():
    # the same +2 % Upbit print, but Binance's last quote is 5 s older: stale_quote_ms=2000 blocks it
    data = scenario([(T0 + 5 * SEC, D("1.02"))])
    engine, strategy, _ = run(data)
    try:
        assert strategy.counters["entries"] == 0 and fills_of(engine) == []
        assert strategy.report_counters()["stale_blocked"] >= 1
    finally:
        engine.dispose()


def test_outlier_print_is_not_traded_until_confirmed():
    # one Upbit print 8 % up (beyond outlier_jump_pct=5), then back to normal: never traded
    data = scenario([(T0 + SEC, D("1.08")), (T0 + 2 * SEC, D("1.0"))])
    engine, strategy, _ = run(data)
    try:
        assert strategy.counters["entries"] == 0 and fills_of(engine) == []
    finally:
        engine.dispose()
    # without the guard the same print is traded: the opportunity existed only on that print
    engine, strategy, _ = run(data, outlier_jump_pct=D(50))
    try:
        assert strategy.counters["entries"] == 1
    finally:
        engine.dispose()


def test_a_new_level_is_traded_once_confirmed():
    moves = [(T0 + SEC, D("1.08")), (T0 + 2 * SEC, D("1.08")), (T0 + 3 * SEC, D("1.08"))]
    engine, _, recorder = run(scenario(moves, binance_at=T0 + 2 * SEC), outlier_confirm_count=3)
    try:
        entry = [s for s in recorder.states if s.status.value == "ENTERING"][0]
        assert entry.ts_event == T0 + 3 * SEC  # the third consecutive print confirms the level
    finally:
        engine.dispose()


@pytest.mark.parametrize("age_secs", [119, 121])
def test_stale_fx_blocks_trading(age_secs):
    c = closes()
    data = [
        quote(FX, c["KRW-USDT.UPBIT"], T0 - age_secs * SEC, 4),
        quote(BINANCE, c["BTCUSDT.BINANCE"], T0, 8),
        quote(UPBIT, (c["KRW-BTC.UPBIT"] * D("1.02")).quantize(D(1000)), T0 + 1, 0),
    ]
    engine, strategy, _ = run(data)
    try:
        assert strategy.counters["entries"] == (1 if age_secs < 120 else 0)
    finally:
        engine.dispose()
