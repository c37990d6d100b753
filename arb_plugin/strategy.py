"""
Cross-exchange arbitrage between a USDT-quoted Binance leg and a KRW-quoted Upbit leg.

One strategy instance trades several pairs (:class:`arb_plugin.pairs.ArbitragePairConfig`). Per pair:

- **Prices** come from QuoteTicks (live, tick data) or from Bars (the 1-minute catalog: bid/ask assumed
  at the close -/+ ``bar_half_spread_bps``). The FX instrument prices USDT in KRW.
- **Edge** per direction is ``(sell - buy) - (fees + slippage)`` with both legs in KRW
  (:mod:`arb_plugin.spread`); every print is screened with the exact integer form, and the full ``Decimal``
  edge is built only when the screen clears.
- **Lifecycle** FLAT -> ENTERING -> OPEN -> EXITING -> FLAT: enter when the edge is at least
  ``entry_threshold_bps`` (absolute, or above the rolling baseline in ``relative`` mode); exit when the
  entry direction's edge falls below ``exit_threshold_bps`` or after ``max_holding_mins``.
- **Inventory**: pre-funded cash accounts on both venues, no transfers; sizes respect increments, minimum
  notional and free balance (:mod:`arb_plugin.sizing`).
- **Legs** are separate orders on separate venues: MARKET on Binance, marketable LIMIT IOC on Upbit (an
  Upbit market buy takes a KRW amount). If the first leg is denied on submit, the second is not sent.
- **Leg risk**: when legs end unequal (rejected, denied, expired, partial), the pair is re-hedged
  (``leg_risk_policy="rehedge"``, up to ``max_rehedge_attempts``) or unwound, with orders bounded by
  ``unwind_slippage_bps``; every step is published as a :class:`arb_plugin.events.LegRiskAlert` and logged.
  Nothing stays silently naked: a remainder below a venue minimum is reported as dust.
- **Bad data**: a leg older than ``stale_quote_ms`` relative to the other (or to the FX print that
  triggers an evaluation), an FX rate older than
  ``fx_max_age_secs`` or a print jumping more than ``outlier_jump_pct`` (until confirmed) blocks trading.
- **State** of each pair is published as a :class:`arb_plugin.events.PairSnapshot` on every transition and
  restored on start from the cache key ``RESUME_CACHE_KEY`` (put there by the state bridge) or from
  NautilusTrader's own ``on_load`` state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from nautilus_trader.common.component import TimeEvent
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.events import OrderExpired
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import FIXED_PRECISION
from nautilus_trader.model.objects import Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.baseline import RollingBaseline
from arb_plugin.events import DECISION_TOPIC
from arb_plugin.events import FLATTEN_TOPIC
from arb_plugin.events import LEG_RISK_TOPIC
from arb_plugin.events import PAIR_CLOSED_TOPIC
from arb_plugin.events import PAIR_STATE_TOPIC
from arb_plugin.events import RESUME_CACHE_KEY
from arb_plugin.events import DecisionLatency
from arb_plugin.events import Direction
from arb_plugin.events import FlattenRequest
from arb_plugin.events import LegRiskAlert
from arb_plugin.events import OrderIntent
from arb_plugin.events import PairClosed
from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.events import order_tags
from arb_plugin.legs import LegOrder
from arb_plugin.legs import PairBook
from arb_plugin.legs import VenueLeg
from arb_plugin.market import FxRate
from arb_plugin.market import LegQuote
from arb_plugin.pairs import ArbitragePairConfig
from arb_plugin.pricing import bar_bid_ask
from arb_plugin.pricing import raw_to_decimal
from arb_plugin.pricing import round_price
from arb_plugin.sizing import VenueRules
from arb_plugin.sizing import fits
from arb_plugin.sizing import size_entry
from arb_plugin.spread import BPS
from arb_plugin.spread import Edge
from arb_plugin.spread import EdgeScreen
from arb_plugin.spread import LegCost
from arb_plugin.spread import compute_edges
from arb_plugin.spread import to_screen_units

_SCALE2 = 2 * 10**FIXED_PRECISION  # a KRW price in raw units times 2 (the FX rate is kept as 2 x mid)
_MS = 1_000_000
_MIN_NS = 60_000_000_000


class ArbitrageStrategyConfig(StrategyConfig, frozen=True):
    """
    Configuration for :class:`ArbitrageStrategy`.

    Parameters
    ----------
    pairs : list[ArbitragePairConfig]
        The pairs to trade (Binance leg, Upbit leg, FX instrument each).
    trade_size : Decimal
        Base quantity per leg of one entry.
    threshold_mode : {"absolute", "relative"}
        ``absolute`` compares the edge with the thresholds; ``relative`` compares the edge minus its
        rolling mean over ``baseline_window_mins``.
    entry_threshold_bps, exit_threshold_bps : Decimal
        Enter at an edge >= entry; exit when the entry direction's edge falls below exit.
    baseline_window_mins, baseline_min_samples : int
        Rolling baseline window and the samples it needs before ``relative`` mode trades.
    max_holding_mins : int, optional
        Exit an open pair after this long whatever the edge.
    slippage_bps : Decimal
        Expected slippage per leg, charged in the edge and used as the Upbit limit-price bound.
    bar_half_spread_bps : Decimal
        With bars: bid and ask assumed at close -/+ this.
    market_data, fx_data : {"quotes", "bars"}
        What the legs and the FX instrument are priced from; ``bar_spec`` / ``fx_bar_spec`` name the bars.
    stale_quote_ms : int
        Each leg may be at most this much older than the print being evaluated (so the legs are also at most
        this far apart); ``0`` with bars compares only bars of the same minute.
    fx_max_age_secs : int
        The FX rate may be at most this old.
    outlier_jump_pct, outlier_confirm_count :
        A print moving more than this against the last good one is kept out until this many in a row
        confirm it.
    leg_risk_policy : {"unwind", "rehedge"}
        On unequal legs: unwind the excess, or first re-hedge the lagging leg (up to
        ``max_rehedge_attempts``) and unwind if that fails.
    leg_timeout_ms : int
        Orders of a pair not done by then are cancelled.
    unwind_slippage_bps : Decimal
        Price bound for unwind, re-hedge and retried exit orders.
    emit_decision_latency : bool
        Publish a :class:`DecisionLatency` per evaluated print (for the live metrics collector).
    """

    pairs: list[ArbitragePairConfig]
    trade_size: Decimal = Decimal("0.01")
    threshold_mode: str = "absolute"
    entry_threshold_bps: Decimal = Decimal(100)
    exit_threshold_bps: Decimal = Decimal(0)
    baseline_window_mins: int = 1440
    baseline_min_samples: int = 60
    max_holding_mins: int | None = None
    slippage_bps: Decimal = Decimal(2)
    bar_half_spread_bps: Decimal = Decimal(2)
    market_data: str = "quotes"
    bar_spec: str = "1-MINUTE-LAST-EXTERNAL"
    fx_data: str = "quotes"
    fx_bar_spec: str = "1-DAY-LAST-EXTERNAL"
    stale_quote_ms: int = 2000
    fx_max_age_secs: int = 120
    outlier_jump_pct: Decimal = Decimal(5)
    outlier_confirm_count: int = 3
    leg_risk_policy: str = "unwind"
    max_rehedge_attempts: int = 2
    leg_timeout_ms: int = 5000
    unwind_slippage_bps: Decimal = Decimal(50)
    emit_decision_latency: bool = False

    def __post_init__(self) -> None:
        checks = {
            "threshold_mode": (self.threshold_mode, ("absolute", "relative")),
            "market_data": (self.market_data, ("quotes", "bars")),
            "fx_data": (self.fx_data, ("quotes", "bars")),
            "leg_risk_policy": (self.leg_risk_policy, ("unwind", "rehedge")),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"{name}={value!r}: must be one of {', '.join(allowed)}")
        if not self.pairs:
            raise ValueError("pairs: at least one pair is required")
        if self.trade_size <= 0:
            raise ValueError(f"trade_size={self.trade_size}: must be > 0")
        if self.exit_threshold_bps >= self.entry_threshold_bps:
            raise ValueError(
                f"exit_threshold_bps={self.exit_threshold_bps}: must be below "
                f"entry_threshold_bps={self.entry_threshold_bps}",
            )
        for name in ("entry_threshold_bps", "exit_threshold_bps", "slippage_bps"):
            to_screen_units(getattr(self, name))  # raises on more than 6 decimals


class _Pair:
    """Runtime of one pair inside the strategy (instruments, market state, screens, book)."""

    __slots__ = (
        "base_buy_binance",
        "base_buy_upbit",
        "baseline_units",
        "binance",
        "binance_instrument",
        "binance_rules",
        "book",
        "config",
        "exit_reason",
        "fx",
        "fx_instrument",
        "in_submission",
        "last_alert_stage",
        "last_retry_ts",
        "screen_buy_binance",
        "screen_buy_upbit",
        "sends",
        "symbol",
        "upbit",
        "upbit_instrument",
        "upbit_rules",
        "want_exit",
    )

    def __init__(
        self,
        config: ArbitragePairConfig,
        binance: Instrument,
        upbit: Instrument,
        fx: Instrument,
        strategy_config: ArbitrageStrategyConfig,
    ) -> None:
        c = strategy_config
        self.config = config
        self.symbol = config.symbol
        self.binance_instrument = binance
        self.upbit_instrument = upbit
        self.fx_instrument = fx
        self.binance = LegQuote(c.outlier_jump_pct, c.outlier_confirm_count)
        self.upbit = LegQuote(c.outlier_jump_pct, c.outlier_confirm_count)
        self.fx = FxRate(c.outlier_jump_pct, c.outlier_confirm_count)
        binance_cost = LegCost(binance.taker_fee, c.slippage_bps)
        upbit_cost = LegCost(upbit.taker_fee, c.slippage_bps)
        self.screen_buy_binance = EdgeScreen(buy_cost=binance_cost, sell_cost=upbit_cost)
        self.screen_buy_upbit = EdgeScreen(buy_cost=upbit_cost, sell_cost=binance_cost)
        self.base_buy_binance = RollingBaseline(c.baseline_window_mins, c.baseline_min_samples)
        self.base_buy_upbit = RollingBaseline(c.baseline_window_mins, c.baseline_min_samples)
        self.baseline_units = (0, 0)
        self.binance_rules = _rules(binance)
        self.upbit_rules = _rules(upbit)
        self.book = PairBook(
            symbol=self.symbol,
            binance=VenueLeg(binance.id.value),
            upbit=VenueLeg(upbit.id.value),
        )
        self.want_exit = False
        self.exit_reason = "converged"
        self.in_submission = False
        self.sends = 0
        self.last_retry_ts = 0
        self.last_alert_stage: str | None = None

    def new_phase(self) -> None:
        """Reset the per-phase retry throttle and leg-risk episode."""
        self.sends = 0
        self.last_alert_stage = None

    @contextmanager
    def submitting(self) -> Iterator[None]:
        """Hold back resolution while a batch of orders is sent (venues may answer synchronously)."""
        self.in_submission = True
        try:
            yield
        finally:
            self.in_submission = False


def _rules(instrument: Instrument) -> VenueRules:
    return VenueRules(
        size_increment=instrument.size_increment.as_decimal(),
        min_quantity=instrument.min_quantity.as_decimal() if instrument.min_quantity else None,
        min_notional=instrument.min_notional.as_decimal() if instrument.min_notional else None,
        fee_rate=instrument.taker_fee,
    )


class ArbitrageStrategy(Strategy):
    """
    Binance x Upbit arbitrage over one or more pairs (see the module docstring).

    Parameters
    ----------
    config : ArbitrageStrategyConfig
        The configuration.
    """

    def __init__(self, config: ArbitrageStrategyConfig) -> None:
        super().__init__(config)
        self._cfg = config
        self._pairs: dict[str, _Pair] = {}
        self._quote_routes: dict[InstrumentId, list[tuple[_Pair, LegQuote | FxRate]]] = {}
        self._order_pairs: dict[str, _Pair] = {}
        self._stale_ns = config.stale_quote_ms * _MS
        self._fx_age_ns = config.fx_max_age_secs * 1_000_000_000
        self._entry_units = to_screen_units(config.entry_threshold_bps)
        self._exit_units = to_screen_units(config.exit_threshold_bps)
        self._relative = config.threshold_mode == "relative"
        self._max_holding_ns = config.max_holding_mins * _MIN_NS if config.max_holding_mins else None
        self._loaded_state: dict[str, bytes] = {}
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "prints",
                "stale_blocked",
                "fx_stale_blocked",
                "outliers",
                "entries",
                "entry_unsized",
                "second_leg_skipped",
                "exits",
                "round_trips",
                "leg_risk_events",
                "rehedges",
                "unwinds",
                "dust",
            ),
            0,
        )

    # -- lifecycle ------------------------------------------------------------------------------------------
    def on_start(self) -> None:
        for pair_config in self._cfg.pairs:
            instruments = [
                self.cache.instrument(i)
                for i in (
                    pair_config.binance_instrument_id,
                    pair_config.upbit_instrument_id,
                    pair_config.fx_instrument_id,
                )
            ]
            missing = [
                str(i)
                for i, inst in zip(
                    (
                        pair_config.binance_instrument_id,
                        pair_config.upbit_instrument_id,
                        pair_config.fx_instrument_id,
                    ),
                    instruments,
                    strict=True,
                )
                if inst is None
            ]
            if missing:
                self.log.error(f"Pair {pair_config.symbol}: instrument(s) not in cache: {', '.join(missing)}")
                continue
            pair = _Pair(pair_config, *instruments, strategy_config=self._cfg)  # type: ignore[misc]
            self._pairs[pair.symbol] = pair
            self._route(pair_config.binance_instrument_id, pair, pair.binance)
            self._route(pair_config.upbit_instrument_id, pair, pair.upbit)
            self._route(pair_config.fx_instrument_id, pair, pair.fx)
            self._restore(pair)
        self._subscribe_data()
        self.msgbus.subscribe(FLATTEN_TOPIC, self._on_flatten)

    def _route(self, instrument_id: InstrumentId, pair: _Pair, quote: LegQuote | FxRate) -> None:
        self._quote_routes.setdefault(instrument_id, []).append((pair, quote))

    def _subscribe_data(self) -> None:
        for pair in self._pairs.values():
            for instrument_id in (pair.config.binance_instrument_id, pair.config.upbit_instrument_id):
                if self._cfg.market_data == "bars":
                    self.subscribe_bars(BarType.from_str(f"{instrument_id}-{self._cfg.bar_spec}"))
                else:
                    self.subscribe_quote_ticks(instrument_id)
            if self._cfg.fx_data == "bars":
                self.subscribe_bars(BarType.from_str(f"{pair.config.fx_instrument_id}-{self._cfg.fx_bar_spec}"))
            else:
                self.subscribe_quote_ticks(pair.config.fx_instrument_id)

    def on_stop(self) -> None:
        self.msgbus.unsubscribe(FLATTEN_TOPIC, self._on_flatten)
        self.counters["outliers"] = sum(
            q.outliers if isinstance(q, LegQuote) else q.quote.outliers
            for routes in self._quote_routes.values()
            for _, q in routes
        )
        for pair in self._pairs.values():
            if not pair.book.is_flat or pair.book.has_open_orders:
                self.log.warning(
                    f"{pair.symbol} stopped {pair.book.status.value}: binance={pair.book.binance.quantity} "
                    f"upbit={pair.book.upbit.quantity}; state kept for resume",
                )

    def on_save(self) -> dict[str, bytes]:
        """NautilusTrader state persistence: every pair's snapshot."""
        ts = self.clock.timestamp_ns()
        return {symbol: pair.book.snapshot(ts).to_json() for symbol, pair in self._pairs.items()}

    def on_load(self, state: dict[str, bytes]) -> None:
        """NautilusTrader state persistence: keep the snapshots for ``on_start`` to restore."""
        self._loaded_state = dict(state)

    # -- market data (hot path) -----------------------------------------------------------------------------
    def on_quote_tick(self, tick: QuoteTick) -> None:
        routes = self._quote_routes.get(tick.instrument_id)
        if routes is None:
            return
        bid = tick.bid_price.raw
        ask = tick.ask_price.raw
        ts = tick.ts_init
        for pair, quote in routes:
            quote.update(bid, ask, ts)
            if quote is pair.fx:
                self._on_fx(pair)
            self._evaluate(pair, ts)

    def on_bar(self, bar: Bar) -> None:
        routes = self._quote_routes.get(bar.bar_type.instrument_id)
        if routes is None:
            return
        ts = bar.ts_init
        close = bar.close
        for pair, quote in routes:
            if quote is pair.fx:
                quote.update(close.raw, close.raw, ts)
                self._on_fx(pair)
            else:
                instrument = pair.binance_instrument if quote is pair.binance else pair.upbit_instrument
                bid, ask = bar_bid_ask(instrument, close.as_decimal(), self._cfg.bar_half_spread_bps)
                quote.update(bid.raw, ask.raw, ts)
            self._evaluate(pair, ts)

    def _on_fx(self, pair: _Pair) -> None:
        if pair.fx.ready:
            # NautilusTrader's portfolio converts USDT <-> KRW across venues with mark xrates (reference §4);
            # its API takes a float. Trading decisions use the exact rate in ``pair.fx``.
            rate = float(raw_to_decimal(pair.fx.mid2) / 2)
            self.cache.set_mark_xrate(pair.binance_instrument.quote_currency, KRW, rate)

    def _evaluate(self, pair: _Pair, ts: int) -> None:
        self.counters["prints"] += 1
        b = pair.binance
        u = pair.upbit
        fx = pair.fx
        if not (b.ready and u.ready and fx.ready):
            return
        if ts - b.ts > self._stale_ns or ts - u.ts > self._stale_ns:  # each leg fresh as of this print
            self.counters["stale_blocked"] += 1
            return
        if ts - fx.ts > self._fx_age_ns:
            self.counters["fx_stale_blocked"] += 1
            return
        fx2 = fx.mid2
        buy_a = b.ask * fx2  # BUY_BINANCE: buy Binance ask (in KRW), sell Upbit bid
        sell_a = u.bid * _SCALE2
        buy_b = u.ask * _SCALE2  # BUY_UPBIT: buy Upbit ask, sell Binance bid (in KRW)
        sell_b = b.bid * fx2
        new_sample = pair.base_buy_binance.due(ts)
        if new_sample and self._relative:
            self._refresh_baseline(pair, ts)
        status = pair.book.status
        if status is PairStatus.FLAT:
            if self._relative and not pair.base_buy_binance.ready:
                pass  # no entry until the baseline has its samples
            else:
                self._decide_entry(pair, buy_a, sell_a, buy_b, sell_b, ts)
        elif status is PairStatus.OPEN:
            if self._relative and not pair.base_buy_binance.ready:
                converged = False  # convergence is judged against a baseline that is not there yet
            elif pair.book.direction is Direction.BUY_BINANCE:
                converged = not pair.screen_buy_binance.clears(buy_a, sell_a, self._exit_units + pair.baseline_units[0])
            else:
                converged = not pair.screen_buy_upbit.clears(buy_b, sell_b, self._exit_units + pair.baseline_units[1])
            held_too_long = (
                self._max_holding_ns is not None
                and pair.book.entry_ts is not None
                and ts - pair.book.entry_ts >= self._max_holding_ns
            )
            if converged or held_too_long or pair.want_exit:
                self._exit(pair, ts, "converged" if converged else ("max_holding" if held_too_long else "flatten"))
        elif (
            not pair.book.has_open_orders
            and not pair.in_submission
            and ts - pair.last_retry_ts >= self._cfg.leg_timeout_ms * _MS
        ):
            self._resolve(pair)  # a phase that waited out its retry throttle (see _may_retry)
        if new_sample:
            self._sample_baseline(pair, ts)  # after the decision: the baseline is what came before this print
        if self._cfg.emit_decision_latency:
            now = self.clock.timestamp_ns()
            self.msgbus.publish(DECISION_TOPIC, DecisionLatency(pair.symbol, now - ts, now))

    def _decide_entry(self, pair: _Pair, buy_a: int, sell_a: int, buy_b: int, sell_b: int, ts: int) -> None:
        base_a, base_b = pair.baseline_units
        if pair.screen_buy_binance.clears(buy_a, sell_a, self._entry_units + base_a):
            self._enter(pair, Direction.BUY_BINANCE, ts)
        elif pair.screen_buy_upbit.clears(buy_b, sell_b, self._entry_units + base_b):
            self._enter(pair, Direction.BUY_UPBIT, ts)

    @staticmethod
    def _refresh_baseline(pair: _Pair, ts: int) -> None:
        # the window as of now (a gap in the data empties it), before this print's own sample
        pair.base_buy_binance.prune(ts)
        pair.base_buy_upbit.prune(ts)
        pair.baseline_units = (pair.base_buy_binance.mean_units(), pair.base_buy_upbit.mean_units())

    def _sample_baseline(self, pair: _Pair, ts: int) -> None:
        edge_a, edge_b = self._edges(pair)
        pair.base_buy_binance.add(ts, edge_a.bps)
        pair.base_buy_upbit.add(ts, edge_b.bps)

    def _edges(self, pair: _Pair) -> tuple[Edge, Edge]:
        binance_cost = LegCost(pair.binance_instrument.taker_fee, self._cfg.slippage_bps)
        upbit_cost = LegCost(pair.upbit_instrument.taker_fee, self._cfg.slippage_bps)
        return compute_edges(
            raw_to_decimal(pair.binance.bid),
            raw_to_decimal(pair.binance.ask),
            raw_to_decimal(pair.upbit.bid),
            raw_to_decimal(pair.upbit.ask),
            self._fx_rate(pair),
            binance_cost,
            upbit_cost,
        )

    @staticmethod
    def _fx_rate(pair: _Pair) -> Decimal:
        return raw_to_decimal(pair.fx.mid2) / 2

    # -- decisions ------------------------------------------------------------------------------------------
    def _enter(self, pair: _Pair, direction: Direction, ts: int) -> None:
        edge_a, edge_b = self._edges(pair)
        edge = edge_a if direction is Direction.BUY_BINANCE else edge_b
        b = pair.binance
        u = pair.upbit
        if direction is Direction.BUY_BINANCE:
            buy_inst, sell_inst = pair.binance_instrument, pair.upbit_instrument
            buy_price, sell_price = raw_to_decimal(b.ask), raw_to_decimal(u.bid)
            buy_rules, sell_rules = pair.binance_rules, pair.upbit_rules
        else:
            buy_inst, sell_inst = pair.upbit_instrument, pair.binance_instrument
            buy_price, sell_price = raw_to_decimal(u.ask), raw_to_decimal(b.bid)
            buy_rules, sell_rules = pair.upbit_rules, pair.binance_rules
        sizing = size_entry(
            target=self._cfg.trade_size,
            buy_rules=buy_rules,
            buy_price=buy_price,
            buy_free_quote=self._free(buy_inst.id.venue, buy_inst.quote_currency.code),
            sell_rules=sell_rules,
            sell_price=sell_price,
            sell_free_base=self._free(sell_inst.id.venue, sell_inst.base_currency.code),
        )
        if sizing.quantity is None:
            self.counters["entry_unsized"] += 1
            if self.counters["entry_unsized"] % 1000 == 1:
                self.log.warning(f"{pair.symbol} {direction.value} edge {edge.bps:.2f} bps not sized: {sizing.reason}")
            return
        qty = sizing.quantity
        pair.book.start_entry(direction, qty, edge.bps, ts)
        pair.new_phase()
        self.counters["entries"] += 1
        self.log.info(
            f"{pair.symbol} ENTER {direction.value} qty={qty} edge={edge.bps:.2f} bps "
            f"(buy {edge.buy_price:.0f} KRW, sell {edge.sell_price:.0f} KRW, fx {self._fx_rate(pair)})",
        )
        buy_binance = direction is Direction.BUY_BINANCE
        first = self._leg_order(pair, pair.upbit_instrument, not buy_binance, qty, OrderIntent.ENTRY)
        second = self._leg_order(pair, pair.binance_instrument, buy_binance, qty, OrderIntent.ENTRY)
        self._publish_state(pair, ts)
        with pair.submitting():
            self._track(pair, first, OrderIntent.ENTRY)
            self._track(pair, second, OrderIntent.ENTRY)
            self.submit_order(first)
            if first.is_closed and first.filled_qty.as_decimal() == 0:
                # denied on submit (risk checks run synchronously): do not send the other leg
                self.counters["second_leg_skipped"] += 1
                self.log.warning(f"{pair.symbol} first leg {first.client_order_id} denied; second leg not sent")
                pair.book.working[second.client_order_id.value].closed = True
                pair.book.working[second.client_order_id.value].failure = "not sent: first leg denied"
            else:
                self.submit_order(second)
        self._arm_timeout(pair)
        self._maybe_resolve(pair)

    def _exit(self, pair: _Pair, ts: int, reason: str) -> None:
        pair.want_exit = False
        pair.exit_reason = reason
        pair.book.start_exit()
        pair.new_phase()
        self.counters["exits"] += 1
        self.log.info(
            f"{pair.symbol} EXIT ({reason}) binance={pair.book.binance.quantity} upbit={pair.book.upbit.quantity}"
        )
        self._publish_state(pair, ts)
        self._send_towards_targets(pair, OrderIntent.EXIT, bounded=False)

    def _leg_order(
        self,
        pair: _Pair,
        instrument: Instrument,
        buy: bool,
        quantity: Decimal,
        intent: OrderIntent,
        bounded: bool = False,
    ) -> Order:
        """MARKET on Binance for entries/exits, otherwise a marketable LIMIT IOC within a price bound."""
        side = OrderSide.BUY if buy else OrderSide.SELL
        qty = Quantity(quantity, instrument.size_precision)
        tags = order_tags(intent, pair.symbol)
        is_binance = instrument.id == pair.binance_instrument.id
        if is_binance and not bounded:
            return self.order_factory.market(instrument.id, side, qty, tags=tags)
        quote = pair.binance if is_binance else pair.upbit
        slip = (self._cfg.unwind_slippage_bps if bounded else self._cfg.slippage_bps) / BPS
        if buy:
            best = raw_to_decimal(quote.ask)
            price = max(round_price(instrument, best * (1 + slip), "down"), round_price(instrument, best, "up"))
        else:
            best = raw_to_decimal(quote.bid)
            price = min(round_price(instrument, best * (1 - slip), "up"), round_price(instrument, best, "down"))
        return self.order_factory.limit(instrument.id, side, qty, price, time_in_force=TimeInForce.IOC, tags=tags)

    def _track(self, pair: _Pair, order: Order, intent: OrderIntent) -> None:
        leg = LegOrder(
            client_order_id=order.client_order_id.value,
            instrument_id=order.instrument_id.value,
            venue="BINANCE" if order.instrument_id == pair.binance_instrument.id else "UPBIT",
            side="BUY" if order.side == OrderSide.BUY else "SELL",
            quantity=order.quantity.as_decimal(),
            intent=intent,
        )
        pair.book.track(leg)
        self._order_pairs[leg.client_order_id] = pair

    def _arm_timeout(self, pair: _Pair) -> None:
        name = f"arb-leg-timeout-{pair.symbol}"
        if name in self.clock.timer_names:
            self.clock.cancel_timer(name)
        self.clock.set_time_alert_ns(
            name,
            self.clock.timestamp_ns() + self._cfg.leg_timeout_ms * _MS,
            self._on_leg_timeout,
        )

    def _on_leg_timeout(self, event: TimeEvent) -> None:
        symbol = event.name.removeprefix("arb-leg-timeout-")
        pair = self._pairs.get(symbol)
        if pair is None:
            return
        for leg in pair.book.working.values():
            if leg.closed:
                continue
            order = self.cache.order(ClientOrderId(leg.client_order_id))
            if order is not None and order.is_open:
                self.log.warning(
                    f"{symbol} leg {leg.client_order_id} not done after {self._cfg.leg_timeout_ms} ms: cancelling"
                )
                self.cancel_order(order)

    # -- order events -----------------------------------------------------------------------------------------
    def on_order_filled(self, event: OrderFilled) -> None:
        pair = self._order_pairs.get(event.client_order_id.value)
        if pair is None:
            return
        instrument = (
            pair.binance_instrument if event.instrument_id == pair.binance_instrument.id else pair.upbit_instrument
        )
        px = event.last_px.as_decimal()
        fee = self._fee_in_quote(event, instrument, px)
        krw_per_quote = Decimal(1) if instrument.quote_currency == KRW else self._fx_rate(pair)
        pair.book.apply_fill(event.client_order_id.value, event.last_qty.as_decimal(), px, fee, krw_per_quote)
        self._maybe_resolve(pair)

    def _fee_in_quote(self, event: OrderFilled, instrument: Instrument, px: Decimal) -> Decimal:
        commission = event.commission
        if commission.currency == instrument.quote_currency:
            return commission.as_decimal()
        if commission.currency == instrument.base_currency:
            return commission.as_decimal() * px
        self.log.warning(f"commission {commission} in a third currency is not valued in pair PnL")
        return Decimal(0)

    def on_order_canceled(self, event: OrderCanceled) -> None:
        self._order_done(event, "canceled")

    def on_order_expired(self, event: OrderExpired) -> None:
        self._order_done(event, "expired")

    def on_order_rejected(self, event: OrderRejected) -> None:
        self._order_done(event, f"rejected: {event.reason}")

    def on_order_denied(self, event: OrderDenied) -> None:
        self._order_done(event, f"denied: {event.reason}")

    def _order_done(self, event: OrderCanceled | OrderExpired | OrderRejected | OrderDenied, failure: str) -> None:
        pair = self._order_pairs.get(event.client_order_id.value)
        if pair is None:
            return
        leg = pair.book.working.get(event.client_order_id.value)
        if leg is not None and leg.filled < leg.quantity:
            leg.failure = failure
        self._maybe_resolve(pair)

    def _maybe_resolve(self, pair: _Pair) -> None:
        """Mark closed orders; once none of the pair's orders is open, decide the next step."""
        if pair.in_submission:
            return  # events raised while a batch of orders is being sent wait for the whole batch
        for leg in pair.book.working.values():
            if leg.closed:
                continue
            order = self.cache.order(ClientOrderId(leg.client_order_id))
            if order is None or order.is_closed:
                leg.closed = True
        if pair.book.has_open_orders:
            self._publish_state(pair, self.clock.timestamp_ns())
            return
        self._resolve(pair)

    def _resolve(self, pair: _Pair) -> None:
        book = pair.book
        ts = self.clock.timestamp_ns()
        failures = [
            f"{leg.venue} {leg.side} {leg.intent.value} {leg.failure}" for leg in book.working.values() if leg.failure
        ]
        for leg in book.working.values():
            self._order_pairs.pop(leg.client_order_id, None)
        book.forget_closed_orders()
        if book.status is PairStatus.ENTERING:
            self._resolve_entry(pair, failures, ts)
        elif book.status is PairStatus.EXITING:
            self._resolve_exit(pair, failures, ts)
        self._publish_state(pair, ts)

    def _resolve_entry(self, pair: _Pair, failures: list[str], ts: int) -> None:
        book = pair.book
        if (book.binance.quantity, book.upbit.quantity) == book.targets() and book.target_qty > 0:
            if pair.last_alert_stage not in (None, "resolved"):
                self._leg_risk(pair, "resolved", f"hedged at {book.hedged}", ts)
            book.open(book.target_qty)
            pair.new_phase()
            self.log.info(f"{pair.symbol} OPEN {book.direction.value if book.direction else ''} qty={book.target_qty}")
            if pair.want_exit:
                self._exit(pair, ts, "flatten")
            return
        if book.is_flat:
            if book.trip_flow_krw == 0:
                book.abort()
                self.log.warning(f"{pair.symbol} entry not filled on either leg: {'; '.join(failures) or 'no fill'}")
            else:
                self._close(pair, ts, "unwound")
            pair.new_phase()
            return
        if book.unhedged == 0 and self._tradable_qty(pair, book.hedged):
            book.target_qty = book.hedged  # equal partial fills: hedged at a smaller size
            self._resolve_entry(pair, failures, ts)
            return
        if pair.last_alert_stage is None:
            self._leg_risk(pair, "detected", "; ".join(failures) or "legs filled unequally", ts)
        if not self._may_retry(pair, ts):
            return  # tried too often just now; a print after leg_timeout_ms retries
        if (
            self._cfg.leg_risk_policy == "rehedge"
            and book.retries < self._cfg.max_rehedge_attempts
            and book.unhedged != 0
        ):
            book.retries += 1
            self.counters["rehedges"] += 1
            book.target_qty = max(abs(book.binance.quantity), abs(book.upbit.quantity))
            intent, stage = OrderIntent.REHEDGE, "rehedging"
        else:
            self.counters["unwinds"] += 1
            hedged = book.hedged
            book.target_qty = hedged if self._tradable_qty(pair, hedged) else Decimal(0)
            intent, stage = OrderIntent.UNWIND, "unwinding"
        self._leg_risk(pair, stage, f"towards hedged qty {book.target_qty}", ts)
        if not self._send_towards_targets(pair, intent, bounded=True):
            self._accept_dust(pair, ts)

    def _resolve_exit(self, pair: _Pair, failures: list[str], ts: int) -> None:
        book = pair.book
        if book.is_flat:
            self._close(pair, ts, pair.exit_reason)
            return
        if failures:
            self._leg_risk(pair, "detected", "exit incomplete: " + "; ".join(failures), ts)
        if not self._may_retry(pair, ts):
            return
        if not self._send_towards_targets(pair, OrderIntent.EXIT, bounded=True):
            self._accept_dust(pair, ts)

    def _accept_dust(self, pair: _Pair, ts: int) -> None:
        """What is left cannot be traded (below venue minimums): report it and leave the phase."""
        book = pair.book
        self.counters["dust"] += 1
        self._leg_risk(
            pair,
            "failed",
            f"left binance={book.binance.quantity} upbit={book.upbit.quantity} below venue minimums",
            ts,
        )
        if book.status is PairStatus.ENTERING and self._tradable_qty(pair, book.hedged):
            book.open(book.hedged)
            pair.new_phase()
        else:
            self._close(pair, ts, "unwound" if book.status is PairStatus.ENTERING else pair.exit_reason)

    def _close(self, pair: _Pair, ts: int, reason: str) -> None:
        book = pair.book
        direction = book.direction or Direction.BUY_BINANCE
        qty = book.target_qty
        pnl = book.close()
        pair.new_phase()
        self.counters["round_trips"] += 1
        self.log.info(f"{pair.symbol} FLAT ({reason}) round trip pnl={pnl:.0f} KRW")
        self.msgbus.publish(PAIR_CLOSED_TOPIC, PairClosed(pair.symbol, direction, str(qty), str(pnl), reason, ts))

    def _may_retry(self, pair: _Pair, ts: int) -> bool:
        if pair.sends < self._cfg.max_rehedge_attempts + 3 or ts - pair.last_retry_ts >= self._cfg.leg_timeout_ms * _MS:
            pair.sends += 1
            pair.last_retry_ts = ts
            return True
        return False

    def _send_towards_targets(self, pair: _Pair, intent: OrderIntent, bounded: bool) -> bool:
        """Send the orders that move each venue to the phase's target; return whether any was sent."""
        book = pair.book
        target_b, target_u = book.targets()
        orders = []
        for instrument, leg, target, quote, rules in (
            (pair.upbit_instrument, book.upbit, target_u, pair.upbit, pair.upbit_rules),
            (pair.binance_instrument, book.binance, target_b, pair.binance, pair.binance_rules),
        ):
            delta = target - leg.quantity
            if delta == 0:
                continue
            qty = abs(delta)
            price = raw_to_decimal(quote.ask if delta > 0 else quote.bid)
            if (missing := fits(rules, qty, price)) is not None:
                self.log.warning(f"{pair.symbol} {intent.value} {qty} on {instrument.id.venue}: {missing} (dust)")
                continue
            orders.append(self._leg_order(pair, instrument, delta > 0, qty, intent, bounded=bounded))
        if not orders:
            return False
        with pair.submitting():
            for order in orders:
                self._track(pair, order, intent)
            for order in orders:
                self.submit_order(order)
        self._arm_timeout(pair)
        self._maybe_resolve(pair)  # orders denied on submit are already closed: carry on now
        return True

    def _tradable_qty(self, pair: _Pair, qty: Decimal) -> bool:
        if qty <= 0:
            return False
        return (
            fits(pair.binance_rules, qty, raw_to_decimal(pair.binance.bid)) is None
            and fits(pair.upbit_rules, qty, raw_to_decimal(pair.upbit.bid)) is None
        )

    def _free(self, venue: Venue, currency_code: str) -> Decimal:
        """Free balance of a currency on a venue; 0 when the account or the currency is unknown."""
        account = self.portfolio.account(venue)
        if account is None:
            return Decimal(0)
        for currency, money in account.balances_free().items():
            if currency.code == currency_code:
                return money.as_decimal()
        return Decimal(0)

    # -- publishing -------------------------------------------------------------------------------------------
    def _publish_state(self, pair: _Pair, ts: int) -> None:
        self.msgbus.publish(PAIR_STATE_TOPIC, pair.book.snapshot(ts))

    def _leg_risk(self, pair: _Pair, stage: str, detail: str, ts: int) -> None:
        if stage == "detected":
            self.counters["leg_risk_events"] += 1
        pair.last_alert_stage = stage
        self.log.warning(f"{pair.symbol} LEG RISK {stage}: unhedged={pair.book.unhedged} {detail}")
        self.msgbus.publish(LEG_RISK_TOPIC, LegRiskAlert(pair.symbol, stage, str(pair.book.unhedged), detail, ts))

    def _on_flatten(self, request: FlattenRequest) -> None:
        self.log.warning(f"Flatten requested: {request.reason}")
        for pair in self._pairs.values():
            if pair.book.status is PairStatus.OPEN:
                self._exit(pair, self.clock.timestamp_ns(), "flatten")
            elif pair.book.status is PairStatus.ENTERING:
                pair.want_exit = True

    # -- resume -----------------------------------------------------------------------------------------------
    def _restore(self, pair: _Pair) -> None:
        raw = self.cache.get(RESUME_CACHE_KEY.format(symbol=pair.symbol)) or self._loaded_state.get(pair.symbol)
        if not raw:
            return
        try:
            snap = PairSnapshot.from_json(raw)
            working = pair.book.restore(snap)
        except Exception as e:  # a corrupt snapshot must not stop the node
            self.log.error(f"{pair.symbol}: resume state ignored, it does not validate: {e}")
            return
        self.log.info(
            f"{pair.symbol} resumed {snap.status.value} "
            f"binance={pair.book.binance.quantity} upbit={pair.book.upbit.quantity}"
        )
        for w in working:
            order = self.cache.order(ClientOrderId(w.client_order_id))
            leg = LegOrder(
                client_order_id=w.client_order_id,
                instrument_id=w.instrument_id,
                venue="BINANCE" if w.instrument_id == pair.book.binance.instrument_id else "UPBIT",
                side=w.side,
                quantity=Decimal(w.quantity),
                intent=w.intent,
                filled=Decimal(w.filled),
            )
            pair.book.track(leg)
            self._order_pairs[leg.client_order_id] = pair
            if order is None:
                self.log.warning(
                    f"{pair.symbol} order {w.client_order_id} from before the restart is unknown to the venue"
                )
                leg.closed = True
                continue
            extra = order.filled_qty.as_decimal() - leg.filled
            if extra > 0:
                instrument = pair.binance_instrument if leg.venue == "BINANCE" else pair.upbit_instrument
                px = (order.avg_px and Decimal(str(order.avg_px))) or Decimal(0)
                fee = extra * px * instrument.taker_fee
                krw = Decimal(1)
                if instrument.quote_currency != KRW:
                    xrate = self.cache.get_mark_xrate(instrument.quote_currency, KRW)
                    krw = Decimal(str(xrate)) if xrate else Decimal(0)
                self.log.warning(
                    f"{pair.symbol} {extra} of {leg.client_order_id} filled while down, booked at {px} (fx {krw})"
                )
                pair.book.apply_fill(leg.client_order_id, extra, px, fee, krw)
            if order.is_open:
                self.cancel_order(order)
            else:
                leg.closed = True

    # -- introspection ---------------------------------------------------------------------------------------
    def pair_snapshots(self) -> dict[str, PairSnapshot]:
        """The current snapshot of every pair."""
        ts = self.clock.timestamp_ns()
        return {symbol: pair.book.snapshot(ts) for symbol, pair in self._pairs.items()}

    def report_counters(self) -> dict[str, Any]:
        """Counters for reports: prints seen, blocks by guard, entries, exits, leg-risk events."""
        return dict(self.counters)
