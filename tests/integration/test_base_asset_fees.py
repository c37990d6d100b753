"""
Binance spot without BNB takes a buy's commission in the asset bought: the account holds less than the fill.

The strategy's pair book holds what the venue holds: an exit sells what a leg holds (never more than the
account has), the fee is no leg risk, and the round trip's PnL counts each fee once. Real catalog bars in a
BacktestEngine, Binance's fee charged as Binance charges it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.models import FeeModel
from nautilus_trader.config import BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import PortfolioConfig
from nautilus_trader.config import RiskEngineConfig
from nautilus_trader.model.currencies import BTC
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money

from arb_plugin.fill_model import HalfSpreadFillModel
from arb_plugin.fill_model import HalfSpreadFillModelConfig
from arb_plugin.instruments import btcusdt_binance
from arb_plugin.instruments import fx_proxy_instrument
from arb_plugin.instruments import krw_btc_upbit
from arb_plugin.strategy import ArbitrageStrategy
from tests.support import Recorder
from tests.support import catalog_bars
from tests.support import fills_of
from tests.support import strategy_config

pytestmark = pytest.mark.integration

BINANCE, UPBIT = Venue("BINANCE"), Venue("UPBIT")


class BinanceBaseAssetFee(FeeModel):
    """Binance without BNB: a buy pays its fee in the base asset, a sell in the quote asset."""

    def get_commission(self, order: Any, fill_qty: Any, fill_px: Any, instrument: Any) -> Money:
        rate = instrument.taker_fee
        if order.side == OrderSide.BUY:
            return Money(fill_qty.as_decimal() * rate, instrument.base_currency)
        return Money(fill_qty.as_decimal() * fill_px.as_decimal() * rate, instrument.quote_currency)


def _run(start: str, end: str, binance_btc: str) -> tuple[BacktestEngine, ArbitrageStrategy, Recorder]:
    engine = BacktestEngine(
        BacktestEngineConfig(
            portfolio=PortfolioConfig(use_mark_xrates=True),
            risk_engine=RiskEngineConfig(),
            logging=LoggingConfig(log_level="ERROR"),
        ),
    )
    half_spread = HalfSpreadFillModelConfig(half_spread_bps="2")
    engine.add_venue(
        venue=BINANCE, oms_type=OmsType.NETTING, account_type=AccountType.CASH, base_currency=None,
        starting_balances=[Money(20_000, USDT), Money(binance_btc, BTC)],
        fill_model=HalfSpreadFillModel(half_spread), fee_model=BinanceBaseAssetFee(), bar_execution=True,
    )
    engine.add_venue(
        venue=UPBIT, oms_type=OmsType.NETTING, account_type=AccountType.CASH, base_currency=None,
        starting_balances=[Money(30_000_000, KRW), Money("0.2", BTC), Money(0, USDT)],
        fill_model=HalfSpreadFillModel(half_spread), bar_execution=True,
    )
    for instrument in (btcusdt_binance(), krw_btc_upbit(), fx_proxy_instrument()):
        engine.add_instrument(instrument)
    strategy = ArbitrageStrategy(strategy_config())
    engine.add_strategy(strategy)
    recorder = Recorder()
    recorder.attach(engine)
    engine.add_data(catalog_bars(start, end))
    engine.run()
    return engine, strategy, recorder


def _binance_fills(engine: BacktestEngine) -> list[tuple[str, str, Decimal, Money]]:
    return [
        (next(t for t in order.tags if t.startswith("intent=")), fill.order_side.name, fill.last_qty.as_decimal(),
         fill.commission)
        for fill, order in fills_of(engine)
        if fill.instrument_id.venue == BINANCE
    ]


def _round_trip_pnl_krw(engine: BacktestEngine, fx_krw_per_usdt: list[Decimal]) -> Decimal:
    # the cash each fill moved (quote fees included), plus a base-asset fee the venue is short of after
    # the round trip, valued at its fill's price; USDT at the FX each fill was booked at
    total = Decimal(0)
    for (fill, _order), fx in zip(fills_of(engine), fx_krw_per_usdt, strict=True):
        qty, px = fill.last_qty.as_decimal(), fill.last_px.as_decimal()
        cash = px * qty if fill.order_side == OrderSide.SELL else -px * qty
        fee = fill.commission.as_decimal()
        cash -= fee if fill.commission.currency != BTC else 0
        total += cash * (fx if fill.instrument_id.venue == BINANCE else 1)
    return total


def test_a_long_binance_leg_exits_with_what_it_holds() -> None:
    # BUY_BINANCE: buys 0.01 BTC on Binance, receives 0.00999; Binance holds no other BTC
    engine, strategy, recorder = _run("2024-11-21 03:00", "2024-11-21 21:00", binance_btc="0")
    try:
        assert _binance_fills(engine) == [
            ("intent=entry", "BUY", Decimal("0.01"), Money("0.00001", BTC)),
            ("intent=exit", "SELL", Decimal("0.00999"), Money("0.98284437", USDT)),
        ]
        assert engine.portfolio.account(BINANCE).balance_total(BTC) == Money(0, BTC)  # nothing sold short
        assert recorder.leg_risk == []  # a fee is no leg risk
        assert [c.reason for c in recorder.closed] == ["converged"]
        assert strategy.pair_snapshots()["BTCUSDT"].status.value == "FLAT"
        # the base fee is in the quantity sold back, not counted a second time
        fx = [Decimal(1392)] * 4  # the day's USD/KRW at both fills (as fills.csv of the demo shows)
        assert Decimal(recorder.closed[0].pnl_krw) == _round_trip_pnl_krw(engine, fx)
    finally:
        engine.dispose()


def test_a_short_binance_leg_buys_back_what_it_sold_and_counts_the_fee() -> None:
    # SELL_BINANCE: sells 0.01 of Binance's BTC, buys 0.01 back and receives 0.00999: the venue ends
    # 0.00001 BTC short of where it started, which the round trip's PnL counts at the fill's price
    engine, strategy, recorder = _run("2024-11-22 13:00", "2024-11-22 14:00", binance_btc="0.1")
    try:
        fills = _binance_fills(engine)
        assert [(intent, side, qty) for intent, side, qty, _ in fills] == [
            ("intent=entry", "SELL", Decimal("0.01")),
            ("intent=exit", "BUY", Decimal("0.01")),  # no extra order for the fee's dust
        ]
        assert fills[1][3] == Money("0.00001", BTC)
        assert engine.portfolio.account(BINANCE).balance_total(BTC) == Money("0.09999", BTC)
        assert recorder.leg_risk == []
        assert [c.reason for c in recorder.closed] == ["converged"]
        snapshot = strategy.pair_snapshots()["BTCUSDT"]
        assert snapshot.status.value == "FLAT" and snapshot.legs == ()
        exit_fill = [fill for fill, _ in fills_of(engine) if fill.instrument_id.venue == BINANCE][1]
        fee_value_usdt = Decimal("0.00001") * exit_fill.last_px.as_decimal()
        quote_fees_only = _round_trip_pnl_krw(engine, [Decimal("1391.6")] * 4)
        assert Decimal(recorder.closed[0].pnl_krw) == quote_fees_only - fee_value_usdt * Decimal("1391.6")
    finally:
        engine.dispose()
