"""Pure pieces of the strategy: pair bookkeeping, sizing, the outlier guard and the rolling baseline."""

from decimal import Decimal

import pytest

from arb_plugin.baseline import RollingBaseline
from arb_plugin.events import Direction
from arb_plugin.events import OrderIntent
from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.legs import LegOrder
from arb_plugin.legs import PairBook
from arb_plugin.legs import VenueLeg
from arb_plugin.sizing import VenueRules
from arb_plugin.sizing import size_entry

D = Decimal
MIN = 60_000_000_000


def book() -> PairBook:
    return PairBook("BTCUSDT", VenueLeg("BTCUSDT.BINANCE"), VenueLeg("KRW-BTC.UPBIT"))


def order(cid, venue, side, qty, intent=OrderIntent.ENTRY):
    iid = "BTCUSDT.BINANCE" if venue == "BINANCE" else "KRW-BTC.UPBIT"
    return LegOrder(cid, iid, venue, side, D(qty), intent)


def test_round_trip_cash_flows_in_krw_at_fill_fx():
    b = book()
    b.start_entry(Direction.BUY_BINANCE, D("0.01"), D(120), ts=1)
    b.track(order("1", "UPBIT", "SELL", "0.01"))
    b.track(order("2", "BINANCE", "BUY", "0.01"))
    b.apply_fill("1", D("0.01"), D(141_000_000), fee_quote=D(705), krw_per_quote=D(1))
    b.apply_fill("2", D("0.01"), D(100_000), fee_quote=D(1), krw_per_quote=D(1400))
    assert (b.binance.quantity, b.upbit.quantity) == (D("0.01"), D("-0.01"))
    assert b.hedged == D("0.01") and b.unhedged == 0
    # +1,410,000 - 705 KRW; -(1,000 + 1) USDT x 1,400 = -1,401,400 KRW
    assert b.trip_flow_krw == D(1_410_000 - 705 - 1_401_400)
    b.open(D("0.01"))
    b.start_exit()
    b.track(order("3", "UPBIT", "BUY", "0.01", OrderIntent.EXIT))
    b.track(order("4", "BINANCE", "SELL", "0.01", OrderIntent.EXIT))
    b.apply_fill("3", D("0.01"), D(140_000_000), D(700), D(1))
    b.apply_fill("4", D("0.01"), D(100_000), D(1), D(1400))
    assert b.is_flat
    pnl = b.close()
    # entry 7,895 + exit (-1,400,700 + 1,398,600 = -2,100) = 5,795 KRW
    assert pnl == D(5_795) and b.realized_pnl_krw == D(5_795) and b.round_trips == 1
    assert b.status is PairStatus.FLAT


def test_unequal_legs_show_unhedged_quantity():
    b = book()
    b.start_entry(Direction.BUY_UPBIT, D("0.01"), D(110), ts=1)
    b.track(order("1", "UPBIT", "BUY", "0.01"))
    b.apply_fill("1", D("0.004"), D(140_000_000), D(280), D(1))
    assert b.unhedged == D("0.004") and b.hedged == 0
    assert b.targets() == (D("-0.01"), D("0.01"))


def test_snapshot_round_trip_restores_everything():
    b = book()
    b.start_entry(Direction.BUY_BINANCE, D("0.01"), D("123.45"), ts=7)
    b.track(order("1", "UPBIT", "SELL", "0.01"))
    b.apply_fill("1", D("0.006"), D(141_000_000), D(423), D(1))
    snap = PairSnapshot.from_json(b.snapshot(99).to_json())
    assert snap.status is PairStatus.ENTERING and snap.working_orders[0].filled == "0.006"
    restored = book()
    working = restored.restore(snap)
    assert restored.upbit.quantity == D("-0.006") and restored.trip_flow_krw == b.trip_flow_krw
    assert restored.entry_edge_bps == D("123.45") and restored.target_qty == D("0.01")
    assert [w.client_order_id for w in working] == ["1"]


def test_a_base_asset_fee_survives_a_restart():
    # Binance spot without BNB: the buy's fee is taken in BTC, so the leg holds less than it traded; after a
    # restart the current phase must still aim for what it holds, not top the leg up by the fee
    b = book()
    b.start_entry(Direction.BUY_BINANCE, D("0.01"), D(120), ts=1)
    b.track(order("1", "BINANCE", "BUY", "0.01"))
    b.apply_fill("1", D("0.01"), D(100_000), D(0), D(1400), fee_base=D("0.00001"))
    assert b.binance.quantity == D("0.00999") and b.targets() == (D("0.00999"), D("-0.01"))
    restored = book()
    restored.restore(PairSnapshot.from_json(b.snapshot(9).to_json()))
    assert restored.binance.fee_base == D("0.00001") and restored.binance.traded == D("0.01")
    assert restored.targets() == b.targets()
    # a snapshot written before the fee was kept reads as no fee paid
    old = PairSnapshot.from_json(b.snapshot(9).to_json().replace(b',"fee_base":"0.00001"', b""))
    legacy = book()
    legacy.restore(old)
    assert legacy.binance.fee_base == 0 and legacy.binance.quantity == D("0.00999")


def test_restore_refuses_another_pairs_snapshot():
    other = PairBook("ETHUSDT", VenueLeg("ETHUSDT.BINANCE"), VenueLeg("KRW-ETH.UPBIT")).snapshot(1)
    with pytest.raises(ValueError, match="snapshot of 'ETHUSDT' given to pair 'BTCUSDT'"):
        book().restore(other)


BINANCE = VenueRules(D("0.00001"), D("0.00001"), D(5), D("0.001"))
UPBIT = VenueRules(D("0.00000001"), D("0.00000001"), D(5000), D("0.0005"))


def test_sizing_takes_the_target_when_affordable():
    s = size_entry(D("0.01"), BINANCE, D(100_000), D(20_000), UPBIT, D(141_000_000), D("0.2"))
    assert s.quantity == D("0.01")


def test_sizing_is_capped_by_quote_balance_and_rounded_to_the_coarser_step():
    # 500 USDT buys 500 / (100,000 x 1.001) = 0.0049950... BTC -> 0.00499 on Binance's 0.00001 grid
    s = size_entry(D("0.01"), BINANCE, D(100_000), D(500), UPBIT, D(141_000_000), D("0.2"))
    assert s.quantity == D("0.00499")


def test_sizing_is_capped_by_inventory_to_sell():
    s = size_entry(D("0.01"), UPBIT, D(141_000_000), D(30_000_000), BINANCE, D(100_000), D("0.003"))
    assert s.quantity == D("0.003")


def test_sizing_refuses_below_minimum_notional():
    s = size_entry(D("0.00003"), BINANCE, D(100_000), D(20_000), UPBIT, D(141_000_000), D("0.2"))
    assert s.quantity is None and "buy leg notional 3.00000 below minimum 5" in s.reason


def test_sizing_refuses_without_inventory():
    s = size_entry(D("0.01"), BINANCE, D(100_000), D(20_000), UPBIT, D(141_000_000), D(0))
    assert s.quantity is None and "base inventory on the sell venue" in s.reason


def runtime(**overrides):
    from arb_plugin.instruments import btcusdt_binance
    from arb_plugin.instruments import fx_proxy_instrument
    from arb_plugin.instruments import krw_btc_upbit
    from arb_plugin.pair_runtime import PairRuntime
    from arb_plugin.pairs import make_pair
    from arb_plugin.strategy import ArbitrageStrategyConfig

    config = ArbitrageStrategyConfig(pairs=[make_pair("BTC")], **overrides)
    pair = PairRuntime(config.pairs[0], btcusdt_binance(), krw_btc_upbit(), fx_proxy_instrument(), config)
    pair.set_thresholds(0, -1)
    return pair


def test_outlier_is_kept_out_until_confirmed():
    from arb_plugin.pair_runtime import ROLE_UPBIT

    pair = runtime(outlier_jump_pct=D(5), outlier_confirm_count=3)
    q = pair.upbit
    assert pair.on_print(q, ROLE_UPBIT, 100, 102, ts=1) == 0 and q.good
    pair.on_print(q, ROLE_UPBIT, 200, 202, ts=2)  # +98 %: suspect
    assert not q.good and (q.bid, q.ask) == (100, 102)  # last good print kept
    pair.on_print(q, ROLE_UPBIT, 200, 202, ts=3)
    assert not q.good
    pair.on_print(q, ROLE_UPBIT, 200, 202, ts=4)
    assert q.good and (q.bid, q.ask, q.ts) == (200, 202, 4)  # third in a row confirms the new level
    pair.on_print(q, ROLE_UPBIT, 203, 205, ts=5)  # +1.5 %: normal
    assert q.good and q.outliers == 3


def test_crossed_or_empty_book_is_never_taken():
    from arb_plugin.pair_runtime import ROLE_BINANCE

    pair = runtime(outlier_confirm_count=1)
    q = pair.binance
    pair.on_print(q, ROLE_BINANCE, 0, 10, ts=1)
    pair.on_print(q, ROLE_BINANCE, 11, 10, ts=2)
    assert not q.good and q.ts == 0


def test_fx_print_reports_a_changed_rate():
    from arb_plugin.pair_runtime import FX_CHANGED
    from arb_plugin.pair_runtime import ROLE_FX

    pair = runtime()
    assert pair.on_print(pair.fx, ROLE_FX, 14 * 10**18, 14 * 10**18, ts=1) == FX_CHANGED
    assert pair.fx_rate() == D(1400)


def test_baseline_window_and_readiness():
    b = RollingBaseline(window_mins=3, min_samples=2)
    assert b.due(MIN)
    b.add(MIN, 10_000_000)  # 10 bps in 1e-6 bps units
    assert not b.ready and not b.due(MIN + 1)
    b.add(2 * MIN, 20_000_001)
    assert b.ready and b.mean_units() == 15_000_000 and b.mean_bps == D(15)  # floored
    b.prune(4 * MIN)  # as of minute 4, the first sample is 3 minutes old: out of the window
    assert b.count == 1 and b.mean_units() == 20_000_001
    b.add(5 * MIN, -40_000_000)
    assert b.count == 1 and b.mean_bps == D(-40)


def test_baseline_floors_negative_means():
    b = RollingBaseline(window_mins=10, min_samples=1)
    b.add(MIN, -1)
    b.add(2 * MIN, 0)
    assert b.mean_units() == -1  # -0.5 floored
