"""Report figures by hand: drawdown, combined KRW equity from fills, premium statistics, starting capital."""

from decimal import Decimal

from arb_plugin.report.figures import drawdown
from arb_plugin.report.figures import equity_curve
from arb_plugin.report.figures import premium_stats
from arb_plugin.report.fills import FillRecord
from arb_plugin.report.series import PriceSeries

D = Decimal


def test_drawdown_is_the_largest_fall_from_a_peak():
    curve = [(1, D(100)), (2, D(120)), (3, D(90)), (4, D(130)), (5, D(117))]
    worst, frac = drawdown(curve)
    assert worst == D(30) and frac == D(30) / D(120)


def fill(ts, venue, side, qty, px, fee, fx):
    iid = "BTCUSDT.BINANCE" if venue == "BINANCE" else "KRW-BTC.UPBIT"
    quote = "USDT" if venue == "BINANCE" else "KRW"
    return FillRecord(ts, venue, iid, "O-1", "V-1", "T-1", "BTCUSDT", "entry", side, D(qty), D(px), quote,
                      D(fee), quote, D(fx))


def test_equity_marks_held_base_and_books_flows_at_fill_fx():
    fills = [
        fill(10, "UPBIT", "SELL", "0.01", 141_000_000, 705, 1400),  # +1,409,295 KRW
        fill(10, "BINANCE", "BUY", "0.01", 100_000, 1, 1400),  # -1,001 USDT = -1,401,400 KRW at fill
    ]
    marks = {
        "KRW-BTC.UPBIT": PriceSeries([0, 20], [D(141_000_000), D(140_000_000)]),
        "BTCUSDT.BINANCE": PriceSeries([0, 20], [D(100_000), D(100_000)]),
    }
    fx = PriceSeries([0, 15], [D(1400), D(1410)])
    curve = equity_curve(fills, marks, fx, capital_krw=D(1_000_000), clock=[5, 10, 20])
    assert curve[0] == (5, D(1_000_000))
    # at 10: flows 7,895; held -0.01 BTC on Upbit at 141e6 (-1,410,000) and +0.01 on Binance at 1e5 x 1,400
    assert curve[1] == (10, D(1_000_000) + D(7_895) - D(1_410_000) + D(1_400_000))
    # at 20: Upbit 140e6 (-1,400,000), Binance 1e5 x 1,410 (+1,410,000): the open pair's mark moved
    assert curve[2] == (20, D(1_000_000) + D(7_895) - D(1_400_000) + D(1_410_000))


def test_premium_statistics_pair_prints_of_the_same_minute():
    upbit = PriceSeries([1, 2, 3], [D(141_400_000), D(140_000_000), D(99)])
    binance = PriceSeries([1, 2], [D(100_000), D(100_000)])  # no Binance print at 3: not paired
    fx = PriceSeries([0], [D(1400)])
    stats = premium_stats(upbit, binance, fx)
    assert stats["samples"] == 2
    assert stats["max"] == "100.00" and stats["min"] == "0.00" and stats["mean"] == "50.00"
