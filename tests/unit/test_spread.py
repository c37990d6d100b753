"""Spread math against hand-computed numbers, and the integer screen against the Decimal form."""

from decimal import Decimal
from decimal import localcontext

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from arb_plugin.events import Direction
from arb_plugin.spread import EdgeScreen
from arb_plugin.spread import LegCost
from arb_plugin.spread import bar_quote
from arb_plugin.spread import compute_edge
from arb_plugin.spread import compute_edges
from arb_plugin.spread import premium_bps
from arb_plugin.spread import to_screen_units

D = Decimal
BINANCE = LegCost(fee_rate=D("0.001"), slippage_bps=D(2))
UPBIT = LegCost(fee_rate=D("0.0005"), slippage_bps=D(2))


def hand_case():
    # Binance 99,990 / 100,000 USDT, Upbit 141,000,000 / 141,100,000 KRW, 1,400 KRW per USDT
    return compute_edges(D(99_990), D(100_000), D(141_000_000), D(141_100_000), D(1400), BINANCE, UPBIT)


def test_buy_binance_edge_by_hand():
    buy_binance, _ = hand_case()
    assert buy_binance.direction is Direction.BUY_BINANCE
    assert buy_binance.buy_price == D(140_000_000)  # 100,000 USDT x 1,400
    assert buy_binance.sell_price == D(141_000_000)
    assert buy_binance.gross == D(1_000_000)
    assert buy_binance.fees == D(210_500)  # 140,000 + 70,500
    assert buy_binance.slippage == D(56_200)  # (140e6 x 2 + 141e6 x 2) / 1e4
    assert buy_binance.value == D(733_300)
    assert buy_binance.bps.quantize(D("0.000001")) == D("52.378571")  # 733,300 / 140e6 x 1e4


def test_buy_upbit_edge_by_hand():
    _, buy_upbit = hand_case()
    assert buy_upbit.direction is Direction.BUY_UPBIT
    assert buy_upbit.buy_price == D(141_100_000)
    assert buy_upbit.sell_price == D(139_986_000)  # 99,990 x 1,400
    assert buy_upbit.fees == D(210_536)  # 70,550 + 139,986
    assert buy_upbit.slippage == D("56217.2")
    assert buy_upbit.value == D("-1380753.2")
    assert buy_upbit.bps.quantize(D("0.0001")) == D("-97.8564")


def test_premium_by_hand():
    assert premium_bps(D(141_000_000), D(100_000), D(1400)).quantize(D("0.0001")) == D("71.4286")
    assert premium_bps(D(140_000_000), D(100_000), D(1400)) == 0


def test_zero_costs_edge_is_gross():
    free = LegCost(D(0), D(0))
    edge = compute_edge(Direction.BUY_UPBIT, D(100), D(101), free, free)
    assert edge.value == D(1) and edge.bps == D(100)


def test_bar_quote_is_symmetric_around_close():
    bid, ask = bar_quote(D(100_000), D(2))
    assert (bid, ask) == (D(99_980), D(100_020))


def test_screen_matches_hand_edge_at_threshold():
    buy_binance, _ = hand_case()
    screen = EdgeScreen(buy_cost=BINANCE, sell_cost=UPBIT)
    # integer units: both prices scaled the same way (KRW x 1)
    buy, sell = int(buy_binance.buy_price), int(buy_binance.sell_price)
    assert screen.clears(buy, sell, to_screen_units(D("52.378571")))
    assert not screen.clears(buy, sell, to_screen_units(D("52.378572")))


def test_screen_units_refuse_more_than_six_decimals():
    with pytest.raises(ValueError, match="6 decimal places"):
        to_screen_units(D("1.0000001"))


prices = st.integers(min_value=1_000, max_value=10**12)
rates = st.decimals(min_value=D(0), max_value=D("0.01"), places=6)
slips = st.decimals(min_value=D(0), max_value=D(50), places=4)
thresholds = st.decimals(min_value=D(-500), max_value=D(500), places=6)


@settings(max_examples=400, deadline=None)
@given(prices, prices, rates, rates, slips, slips, thresholds)
def test_screen_agrees_with_decimal_edge(buy, sell, fee_b, fee_s, slip_b, slip_s, threshold):
    buy_cost, sell_cost = LegCost(fee_b, slip_b), LegCost(fee_s, slip_s)
    with localcontext() as ctx:
        ctx.prec = 80  # exact enough that the comparison below is the true one
        edge = compute_edge(Direction.BUY_BINANCE, D(buy), D(sell), buy_cost, sell_cost)
        expected = edge.value * 10_000 >= threshold * edge.buy_price
    assert EdgeScreen(buy_cost, sell_cost).clears(buy, sell, to_screen_units(threshold)) == expected
