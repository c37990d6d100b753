"""
One pair's runtime inside the strategy: its instruments, latest prices, integer screens, baselines and book.

The screens (:class:`arb_plugin.spread.EdgeScreen`) ``sell * sell_coef >= buy * (buy_coef + threshold)`` are
split into one product per leg, each refreshed only when its own leg prints (the FX rate and the
thresholds are folded into the Binance leg's coefficients when they change):

- BUY_BINANCE (buy Binance's ask in KRW, sell Upbit's bid):
  ``upbit.bid * sell_coef_a * SCALE2  >=  binance.ask * (fx2 * (buy_coef_a + entry))``
- BUY_UPBIT (buy Upbit's ask, sell Binance's bid in KRW):
  ``binance.bid * (fx2 * sell_coef_b)  >=  upbit.ask * ((buy_coef_b + entry) * SCALE2)``

so a print costs two multiplications and a decision two comparisons (an exit one more multiplication).

Each print goes through one call (:meth:`PairRuntime.on_binance`, :meth:`~PairRuntime.on_upbit`,
:meth:`~PairRuntime.on_fx`; :meth:`~PairRuntime.on_print` dispatches by role) that checks and stores it,
applies the data guards and the lifecycle's decision rules, and returns an action code for the strategy
(enter, exit, resolve): no NautilusTrader state is touched here. A leg print with an unchanged bid and ask
skips the outlier guard and the products (they would not change), and a flat or open pair with absolute
thresholds is decided without the generic lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING

from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import FIXED_PRECISION

from arb_plugin.baseline import RollingBaseline
from arb_plugin.events import Direction
from arb_plugin.events import PairStatus
from arb_plugin.legs import PairBook
from arb_plugin.legs import VenueLeg
from arb_plugin.market import LegQuote
from arb_plugin.pairs import ArbitragePairConfig
from arb_plugin.sizing import VenueRules
from arb_plugin.spread import EdgeScreen
from arb_plugin.spread import LegCost

if TYPE_CHECKING:
    from arb_plugin.strategy import ArbitrageStrategyConfig


SCALE2 = 2 * 10**FIXED_PRECISION  # a KRW price in raw units, times 2 (the FX rate is kept as 2 x mid)

# a print's role in its pair
ROLE_BINANCE = 0
ROLE_UPBIT = 1
ROLE_FX = 2

# actions returned by PairRuntime.on_print (FX_CHANGED may be or-ed with one of the others)
NO_ACTION = 0
ENTER_BUY_BINANCE = 1
ENTER_BUY_UPBIT = 2
EXIT = 3
RESOLVE = 4
FX_CHANGED = 8


def venue_rules(instrument: Instrument) -> VenueRules:
    """The sizing rules of an instrument."""
    return VenueRules(
        size_increment=instrument.size_increment.as_decimal(),
        min_quantity=instrument.min_quantity.as_decimal() if instrument.min_quantity else None,
        min_notional=instrument.min_notional.as_decimal() if instrument.min_notional else None,
        fee_rate=instrument.taker_fee,
    )


class PairRuntime:
    """Everything the strategy keeps for one pair."""

    __slots__ = (
        "base_buy_binance",
        "base_buy_upbit",
        "binance",
        "binance_a",
        "binance_b",
        "binance_instrument",
        "binance_rules",
        "book",
        "coef_a_entry",
        "coef_a_exit",
        "coef_b_sell",
        "config",
        "entry_buy_a",
        "entry_buy_b",
        "entry_units",
        "exit_buy_a",
        "exit_buy_b",
        "exit_reason",
        "exit_units",
        "fx",
        "fx_age_ns",
        "fx_instrument",
        "fx_stale_blocked",
        "in_submission",
        "last_alert_stage",
        "last_retry_ts",
        "leg_timeout_ns",
        "max_holding_ns",
        "relative",
        "screen_buy_binance",
        "screen_buy_upbit",
        "sell_a2",
        "sell_b",
        "sends",
        "stale_blocked",
        "stale_ns",
        "symbol",
        "upbit",
        "upbit_a",
        "upbit_b",
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
        self.fx = LegQuote(c.outlier_jump_pct, c.outlier_confirm_count)
        binance_cost = LegCost(binance.taker_fee, c.slippage_bps)
        upbit_cost = LegCost(upbit.taker_fee, c.slippage_bps)
        self.screen_buy_binance = EdgeScreen(buy_cost=binance_cost, sell_cost=upbit_cost)
        self.screen_buy_upbit = EdgeScreen(buy_cost=upbit_cost, sell_cost=binance_cost)
        self.sell_a2 = self.screen_buy_binance.sell_coef * SCALE2  # Upbit bid is in KRW raw: scale like b.ask x fx2
        self.sell_b = self.screen_buy_upbit.sell_coef
        self.entry_buy_a = self.entry_buy_b = self.exit_buy_a = self.exit_buy_b = 0
        self.entry_units = self.exit_units = 0
        self.upbit_a = self.upbit_b = self.binance_a = self.binance_b = 0
        self.coef_a_entry = self.coef_a_exit = self.coef_b_sell = 0
        self.base_buy_binance = RollingBaseline(c.baseline_window_mins, c.baseline_min_samples)
        self.base_buy_upbit = RollingBaseline(c.baseline_window_mins, c.baseline_min_samples)
        self.binance_rules = venue_rules(binance)
        self.upbit_rules = venue_rules(upbit)
        self.book = PairBook(symbol=self.symbol, binance=VenueLeg(binance.id.value), upbit=VenueLeg(upbit.id.value))
        self.want_exit = False
        self.exit_reason = "converged"
        self.in_submission = False
        self.sends = 0
        self.last_retry_ts = 0
        self.last_alert_stage: str | None = None
        self.stale_ns = c.stale_quote_ms * 1_000_000
        self.fx_age_ns = c.fx_max_age_secs * 1_000_000_000
        self.leg_timeout_ns = c.leg_timeout_ms * 1_000_000
        self.max_holding_ns = c.max_holding_mins * 60_000_000_000 if c.max_holding_mins else None
        self.relative = c.threshold_mode == "relative"
        self.stale_blocked = 0
        self.fx_stale_blocked = 0

    # -- prints (hot path: one call per print, integers only) -----------------------------------------------
    def on_print(self, quote: LegQuote, role: int, bid: int, ask: int, ts: int) -> int:
        """
        Take a print of one of the pair's instruments (raw prices) and return the action it calls for.

        ``quote`` must be the pair's quote of ``role``; the work is done by :meth:`on_binance`,
        :meth:`on_upbit` or :meth:`on_fx` (the strategy calls those directly).
        """
        if role == ROLE_BINANCE:
            return self.on_binance(bid, ask, ts)
        if role == ROLE_UPBIT:
            return self.on_upbit(bid, ask, ts)
        return self.on_fx(bid, ask, ts)

    def on_binance(self, bid: int, ask: int, ts: int) -> int:
        """
        Take a Binance print: outlier guard (:meth:`LegQuote.take`), store, refresh the leg's share of the
        screens, then :meth:`evaluate` (inlined up to the lifecycle of a pair that is not flat).

        A print with the same bid and ask as the last good one (which the guard passes unchanged) only moves
        the leg's time.
        """
        q = self.binance
        if bid != q.bid or ask != q.ask or not q.good:
            if not q.take(bid, ask):  # the outlier guard
                return NO_ACTION
            self.binance_a = ask * self.coef_a_entry
            self.binance_b = bid * self.coef_b_sell
        q.ts = ts
        return self._on_leg(ts, self.upbit)

    def on_upbit(self, bid: int, ask: int, ts: int) -> int:
        """Take an Upbit print (as :meth:`on_binance`)."""
        q = self.upbit
        if bid != q.bid or ask != q.ask or not q.good:
            if not q.take(bid, ask):  # the outlier guard
                return NO_ACTION
            self.upbit_a = bid * self.sell_a2
            self.upbit_b = ask * self.entry_buy_b
        q.ts = ts
        return self._on_leg(ts, self.binance)

    def _on_leg(self, ts: int, other: LegQuote) -> int:
        """
        :meth:`evaluate` after a leg's good print at ``ts``, with absolute thresholds' flat and open pairs
        decided here (the rest in :meth:`_lifecycle`).
        """
        # data guards: the printing leg is good and fresh, so only the other one can be stale (stale_ns >= 0)
        fx = self.fx
        if not (other.good and fx.good):
            return NO_ACTION
        if ts - other.ts > self.stale_ns:
            self.stale_blocked += 1
            return NO_ACTION
        if ts - fx.ts > self.fx_age_ns:
            self.fx_stale_blocked += 1
            return NO_ACTION
        if self.relative:
            return self._lifecycle(ts, NO_ACTION)
        book = self.book
        status = book.status
        if status is PairStatus.FLAT:
            # BUY_BINANCE: buy Binance's ask (x FX), sell Upbit's bid; BUY_UPBIT: the reverse
            if self.upbit_a >= self.binance_a:
                return ENTER_BUY_BINANCE
            if self.binance_b >= self.upbit_b:
                return ENTER_BUY_UPBIT
            return NO_ACTION
        if status is not PairStatus.OPEN or self.want_exit or self.max_holding_ns is not None:
            return self._lifecycle(ts, NO_ACTION)
        # open, absolute, no holding limit, no flatten pending: exit once converged
        if book.direction is Direction.BUY_BINANCE:
            converged = self.upbit_a < self.binance.ask * self.coef_a_exit
        else:
            converged = self.binance_b < self.upbit.ask * self.exit_buy_b
        if converged:
            self.exit_reason = "converged"
            return EXIT
        return NO_ACTION

    def on_fx(self, bid: int, ask: int, ts: int) -> int:
        """Take an FX print: the rate is folded into the Binance leg's coefficients; returns ``FX_CHANGED``."""
        q = self.fx
        if not q.take(bid, ask):
            return NO_ACTION
        q.ts = ts
        self._fold_binance()
        return self.evaluate(ts, FX_CHANGED)

    def evaluate(self, ts: int, action: int) -> int:
        """
        Apply the data guards and the lifecycle's rules as of a print at ``ts``; return ``action`` or-ed with
        what they call for.
        """
        b = self.binance
        u = self.upbit
        fx = self.fx
        # data guards
        if not (b.good and u.good and fx.good):
            return action
        if ts - (b.ts if b.ts < u.ts else u.ts) > self.stale_ns:  # each leg fresh as of this print
            self.stale_blocked += 1
            return action
        if ts - fx.ts > self.fx_age_ns:
            self.fx_stale_blocked += 1
            return action
        return self._lifecycle(ts, action)

    def _lifecycle(self, ts: int, action: int) -> int:
        """The lifecycle's rules (after the data guards passed)."""
        b = self.binance
        u = self.upbit
        base = self.base_buy_binance
        sample = self.relative and base.due(ts)
        if sample:
            self.refresh_baseline(ts)
        status = self.book.status
        if status is PairStatus.FLAT:
            if not self.relative or base.ready:
                # BUY_BINANCE: buy Binance's ask (x FX), sell Upbit's bid; BUY_UPBIT: the reverse
                if self.upbit_a >= self.binance_a:
                    action |= ENTER_BUY_BINANCE
                elif self.binance_b >= self.upbit_b:
                    action |= ENTER_BUY_UPBIT
        elif status is PairStatus.OPEN:
            if self.relative and not base.ready:
                converged = False  # convergence is judged against a baseline that is not there yet
            elif self.book.direction is Direction.BUY_BINANCE:
                converged = self.upbit_a < b.ask * self.coef_a_exit
            else:
                converged = self.binance_b < u.ask * self.exit_buy_b
            entry_ts = self.book.entry_ts
            if converged:
                self.exit_reason = "converged"
                action |= EXIT
            elif self.max_holding_ns is not None and entry_ts is not None and ts - entry_ts >= self.max_holding_ns:
                self.exit_reason = "max_holding"
                action |= EXIT
            elif self.want_exit:
                self.exit_reason = "flatten"
                action |= EXIT
        elif (
            not self.in_submission and ts - self.last_retry_ts >= self.leg_timeout_ns and not self.book.has_open_orders
        ):
            action |= RESOLVE  # a phase that waited out its retry throttle
        if sample:
            edge_a, edge_b = self.edge_units()  # after the decision: the baseline is what came before this print
            base.add(ts, edge_a)
            self.base_buy_upbit.add(ts, edge_b)
        return action

    def refresh_baseline(self, ts: int) -> None:
        """The baseline window as of ``ts`` (a gap in the data empties it), folded into the thresholds."""
        self.base_buy_binance.prune(ts)
        self.base_buy_upbit.prune(ts)
        self.set_thresholds(
            self.entry_units,
            self.exit_units,
            self.base_buy_binance.mean_units(),
            self.base_buy_upbit.mean_units(),
        )

    def set_thresholds(self, entry_units: int, exit_units: int, base_a: int = 0, base_b: int = 0) -> None:
        """Fold thresholds (and baselines) into the buy-side coefficients of both screens."""
        self.entry_units = entry_units
        self.exit_units = exit_units
        self.entry_buy_a = self.screen_buy_binance.buy_coef + entry_units + base_a
        self.entry_buy_b = (self.screen_buy_upbit.buy_coef + entry_units + base_b) * SCALE2
        self.exit_buy_a = self.screen_buy_binance.buy_coef + exit_units + base_a
        self.exit_buy_b = (self.screen_buy_upbit.buy_coef + exit_units + base_b) * SCALE2
        self.upbit_b = self.upbit.ask * self.entry_buy_b
        self._fold_binance()

    def _fold_binance(self) -> None:
        """Fold the FX rate and thresholds into the Binance leg's coefficients and refresh its products."""
        fx2 = self.fx.ref_mid2
        self.coef_a_entry = fx2 * self.entry_buy_a
        self.coef_a_exit = fx2 * self.exit_buy_a
        self.coef_b_sell = fx2 * self.sell_b
        self.binance_a = self.binance.ask * self.coef_a_entry
        self.binance_b = self.binance.bid * self.coef_b_sell

    def edge_units(self) -> tuple[int, int]:
        """Both directions' current edges in 1e-6 bps units (for the baseline)."""
        fx2 = self.fx.ref_mid2
        a = self.screen_buy_binance.edge_units(self.binance.ask * fx2, self.upbit.bid * SCALE2)
        b = self.screen_buy_upbit.edge_units(self.upbit.ask * SCALE2, self.binance.bid * fx2)
        return a, b

    def fx_rate(self) -> Decimal:
        """The exact FX rate (KRW per USDT): the mid of the last good FX print."""
        return Decimal(self.fx.ref_mid2).scaleb(-FIXED_PRECISION) / 2

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
