"""
Wiring the guards into NautilusTrader: a RiskEngine subclass, installed by :func:`install_risk_guard`.

Why a subclass and not the endpoint gate
----------------------------------------
NautilusTrader has no hook for custom risk rules (its issue #516). Reference §5 verified two ways in: a gate
that re-registers the ``RiskEngine.execute`` endpoint in front of the engine, or a subclass of the engine
swapped into the kernel after it is built. We use the **subclass**, because of what a halt must do here:

- A post-trade guard halts trading with ``TradingState.HALTED``. ``REDUCING`` is not enough: it still lets a
  position open from flat (reference §9 P10).
- NautilusTrader's ``HALTED`` denies *every* order in ``RiskEngine._execution_gateway``, exits included. Our
  rule is that reducing exposure is never blocked: exits, leg-risk unwinds and re-hedges (and the orders a
  flatten-on-halt sends) must pass. A gate sits *in front of* the engine: it can deny, but it cannot let an
  order past the engine's own HALTED check. Only an override of ``_execution_gateway`` can, and it keeps every
  other NautilusTrader check (precision, notional, balance, submit throttle) on those orders.
- In live, ``LiveRiskEngine.execute`` only enqueues and the checks run in the engine's command queue (with
  :mod:`arb_plugin.nodes.dispatch`, at once on the submitting stack). Either way, in the subclass our rules run
  where NautilusTrader's do, in order with them, on the state of that moment.
- A denial goes through NautilusTrader's own ``_deny_command``: a real ``OrderDenied`` with our reason.

The price is that the swap touches two private attributes (``kernel._risk_engine``,
``trader._risk_engine``) and overrides ``cpdef`` hooks (Cython dispatches to Python overrides, verified in
reference §5). NautilusTrader is pinned (``==1.231.0``); :func:`install_risk_guard` checks what it relies on
and fails loudly if it changed.

So, in this engine ``HALTED`` means: every order that adds exposure is denied; an order that provably reduces
it (our ``exit``/``unwind``/``rehedge`` intents, or an untagged order that shrinks an open position) still
goes through NautilusTrader's remaining checks. A halt set by anyone (an operator too) behaves the same.

What the gate checks
--------------------
Every ``SubmitOrder`` / ``SubmitOrderList`` passes :meth:`RiskGate.check_order` before NautilusTrader's
checks, in ``BacktestEngine``/``BacktestNode`` and in paper and live ``TradingNode`` alike. Orders tagged
``intent=exit|unwind|rehedge`` pass untouched. Any other order is an entry unless it provably reduces a
position (an untagged order of another strategy is checked too: fail closed). An entry must pass the
hierarchy ``GlobalGuard -> PortfolioGuard -> SymbolGuard`` (:mod:`arb_plugin.risk.guard`); when something a
rule needs is missing (instrument, account, price, FX rate) it is denied with ``MISSING_DATA`` naming it.
Margin accounts are checked exactly like cash accounts (NautilusTrader's own balance checks skip them, its
issue #4011).

Notionals are converted to the reporting currency through NautilusTrader's FX path: mark xrates
(``cache.set_mark_xrate``, set by the strategy, with ``PortfolioConfig(use_mark_xrates=True)``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING
from typing import Any

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import Clock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.config import LiveRiskEngineConfig
from nautilus_trader.config import RiskEngineConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import ModifyOrder
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.execution.messages import SubmitOrderList
from nautilus_trader.live.risk_engine import LiveRiskEngine
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AggregationSource
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import PriceType
from nautilus_trader.model.enums import TradingState
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.events import OrderEvent
from nautilus_trader.model.events import OrderInitialized
from nautilus_trader.model.events import PositionEvent
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import Quantity
from nautilus_trader.model.orders import LimitOrder
from nautilus_trader.model.orders import MarketOrder
from nautilus_trader.model.orders import Order
from nautilus_trader.portfolio.portfolio import Portfolio
from nautilus_trader.risk.engine import RiskEngine

from arb_plugin.endpoints import RANK_GUARD
from arb_plugin.endpoints import add_layer
from arb_plugin.events import FLATTEN_TOPIC
from arb_plugin.events import GUARD_RESUME_CACHE_KEY
from arb_plugin.events import GUARD_RESUME_TOPIC
from arb_plugin.events import GUARD_STATE_TOPIC
from arb_plugin.events import GUARD_TRIGGER_TOPIC
from arb_plugin.events import PAIR_CLOSED_TOPIC
from arb_plugin.events import FlattenRequest
from arb_plugin.events import GuardStateSnapshot
from arb_plugin.events import GuardTriggered
from arb_plugin.events import OrderIntent
from arb_plugin.events import PairClosed
from arb_plugin.events import parse_order_tags
from arb_plugin.pairs import ArbitragePairConfig
from arb_plugin.risk import rules
from arb_plugin.risk.exposure import ExposureBook
from arb_plugin.risk.exposure import Leg
from arb_plugin.risk.guard import GuardLimits
from arb_plugin.risk.guard import RiskGuard
from arb_plugin.risk.guard import SymbolGuard
from arb_plugin.risk.guard import Trip
from arb_plugin.risk.guard import guard_limits
from arb_plugin.risk.rules import ALLOW
from arb_plugin.risk.rules import Decision
from arb_plugin.risk.state import cooldown_scopes
from arb_plugin.risk.state import decode_snapshot
from arb_plugin.risk.state import parse_snapshot
from arb_plugin.risk.state import to_dict
from arb_plugin.settings import MarketDataSettings
from arb_plugin.settings import Settings
from arb_plugin.timers import on_loop

if TYPE_CHECKING:
    from nautilus_trader.system.kernel import NautilusKernel


ZERO = Decimal(0)
ONE = Decimal(1)
_ENTRY = OrderIntent.ENTRY
_BUY = OrderSide.BUY
_HALTED = TradingState.HALTED
_DAY_ALERT = "RiskGate.trading_day"
_EVENT_PRIORITY = 5  # after the Portfolio and RiskEngine (10), before strategies and actors (0)
_SAVE_INTERVAL_NS = 1_000_000_000  # routine GUARD snapshots at most once a second; trips save at once
# Unrealized PnL of a held instrument is re-checked against the post-trade guards on its market data at most
# this often (every fill re-checks at once); keeps the per-quote cost of a held instrument to a mark update.
_MARK_EVALUATION_NS = 1_000_000_000
# That re-check (it asks the Portfolio for PnL: about 0.7 ms) runs in a second handler of the same market data,
# subscribed at priority 0 once the strategies are (the bus keeps subscription order among equal priorities):
# a quote reaches the strategy, and its orders the venue, without waiting for it.
_LATE_PRIORITY = 0
_INTENT_TAGS = {f"intent={intent.value}": intent for intent in OrderIntent}


def _parse_tags(tags: list[str] | None) -> tuple[OrderIntent | None, str | None]:
    """:func:`arb_plugin.events.parse_order_tags` without the enum lookups (same results, on the hot path)."""
    if tags is not None and len(tags) == 2:  # the strategy's own ["intent=...", "pair=..."]
        intent = _INTENT_TAGS.get(tags[0])
        second = tags[1]
        if intent is not None and second.startswith("pair="):
            return intent, second[5:]
    intent = None
    pair = None
    for tag in tags or ():
        found = _INTENT_TAGS.get(tag)
        if found is not None:
            intent = found
        elif tag.startswith("pair="):
            pair = tag[5:]
        elif tag.startswith("intent="):
            intent = None  # an unknown intent counts as none: checked conservatively
    return intent, pair


class _HedgeLeg:
    """Names the projected hedge leg in a denial (formatted only when a denial is written)."""

    __slots__ = ("instrument_id",)

    def __init__(self, instrument_id: object) -> None:
        self.instrument_id = instrument_id

    def __str__(self) -> str:
        return f"{self.instrument_id} (hedge leg)"


class RiskGate:
    """
    Runs the guard hierarchy for the installed engine and keeps it fed from NautilusTrader's events.

    Read ``trigger_counts`` (guard name -> count of denials, halts, blocks, cooldowns and resumes) for
    metrics; each trigger is also published as :class:`arb_plugin.events.GuardTriggered` on
    ``GUARD_TRIGGER_TOPIC``.

    Guard state is saved by publishing :class:`arb_plugin.events.GuardStateSnapshot` on ``GUARD_STATE_TOPIC``
    and restored from ``GUARD_RESUME_CACHE_KEY`` (read at start) or a snapshot on ``GUARD_RESUME_TOPIC``
    (see :mod:`arb_plugin.risk.state`); the gate itself does no I/O.

    Parameters
    ----------
    limits : GuardLimits
        The limits (per environment, from ``RiskSettings``).
    pairs : Iterable[tuple[str, Iterable[str], str | None]]
        ``(symbol, instrument ids, FX instrument id)`` per configured pair.
    cache, portfolio, msgbus, clock
        The kernel's components.
    """

    def __init__(
        self,
        limits: GuardLimits,
        pairs: Iterable[tuple[str, Iterable[str], str | None]],
        cache: Cache,
        portfolio: Portfolio,
        msgbus: MessageBus,
        clock: Clock,
    ) -> None:
        self.limits = limits
        self._pairs = [(symbol, tuple(ids), fx) for symbol, ids, fx in pairs]
        self._cache = cache
        self._portfolio = portfolio
        self._msgbus = msgbus
        self._clock = clock
        self.trigger_counts: Counter[str] = Counter()
        self.engine: RiskEngine | None = None
        self._reporting = Currency.from_str(limits.currency)
        self._reporting_code = self._reporting.code
        self._reset_state()

    def _reset_state(self) -> None:
        self.guard = RiskGuard(self.limits, self._pairs)
        self._global = self.guard.global_guard
        self.book = ExposureBook()
        self._legs: dict[InstrumentId, Leg] = {}
        self._symbol_legs: dict[str, list[Leg]] = {}
        self._partners: dict[Leg, list[Leg]] = {}  # every leg's other legs in its symbol
        self._guard_of_instrument: dict[InstrumentId, SymbolGuard] = {}
        self._reserved: dict[ClientOrderId, tuple[Leg, Decimal]] = {}
        self._currencies: dict[str, Currency] = {self._reporting_code: self._reporting}
        self._xrates: dict[str, tuple[float, Decimal]] = {}
        self._rate_table: dict[str, Decimal | None] = {}
        self._foreign: list[tuple[str, Currency]] = []
        self._quantities_seen: dict[int, Decimal] = {}
        self._hedge_labels: dict[Leg, _HedgeLeg] = {}
        self._bar_types: dict[InstrumentId, Any] = {}
        self._marks: dict[InstrumentId, tuple[Any, Decimal, int]] = {}  # data object -> its price, by identity
        self._fx_ids: dict[str, InstrumentId] = {}
        self._subscribed: set[InstrumentId] = set()
        self._marks_due: list[Leg] = []  # held legs whose PnL is due for a re-check (see _after_marks)
        self._late_subscribed: set[InstrumentId] = set()
        self._we_halted = False
        self._flatten_pending: str | None = None  # a restored halt's flatten, sent once the strategies get data
        self._restored_halt_check = False
        self._last_save_ns = 0
        self._save_pending = False  # a change not published yet (routine saves are paced)
        self._dirty_symbols: set[str] = set()
        self._started = False
        self.load_errors: list[str] = []  # resumed state that did not validate (logged, skipped)
        self.restored: GuardStateSnapshot | None = None  # the last snapshot resumed from

    # -- lifecycle -----------------------------------------------------------------------------------------

    def attach(self, engine: RiskEngine) -> None:
        """Bind to the installed engine and subscribe to the events the guards need."""
        self.engine = engine
        bus = self._msgbus
        bus.subscribe("events.order.*", self._on_order_event, priority=_EVENT_PRIORITY)
        bus.subscribe("events.position.*", self._on_position_event, priority=_EVENT_PRIORITY)
        bus.subscribe(PAIR_CLOSED_TOPIC, self._on_pair_closed)
        bus.subscribe(GUARD_RESUME_TOPIC, self._on_resume)

    def detach(self) -> None:
        bus = self._msgbus
        for topic, handler in (
            ("events.order.*", self._on_order_event),
            ("events.position.*", self._on_position_event),
            (PAIR_CLOSED_TOPIC, self._on_pair_closed),
            (GUARD_RESUME_TOPIC, self._on_resume),
            ("data.quotes.*", self._send_pending_flatten),
            ("data.bars.*", self._send_pending_flatten),
        ):
            if bus.is_subscribed(topic, handler):
                bus.unsubscribe(topic, handler)
        for instrument_id in list(self._subscribed):
            self._unsubscribe_data(instrument_id)

    def start(self) -> None:
        """
        Called when the engine starts: restore the state under ``GUARD_RESUME_CACHE_KEY`` if the Cache holds
        one, open the trading day (restored figures apply) and sync the halt.
        """
        for symbol, instrument_ids, _ in self._pairs:
            guard = self.guard.symbol(symbol)
            for value in instrument_ids:
                instrument = self._cache.instrument(InstrumentId.from_str(value))
                if instrument is not None:
                    self._new_leg(instrument, guard)
        raw = self._cache.get(GUARD_RESUME_CACHE_KEY)
        if raw is not None:
            try:
                snapshot = decode_snapshot(raw)
            except ValueError as e:
                self._restore_error(f"{GUARD_RESUME_CACHE_KEY}: {e}")
            else:
                self._restore(snapshot)
        self._started = True
        # The first state is published with the first change (or at stop), not now: whoever keeps it (the
        # StateBridge, an actor) subscribes after the RiskEngine started, and would miss it.
        self._roll(self._clock.timestamp_ns(), publish=False)

    def stop(self) -> None:
        """Called when the engine stops: publish a change the pacing held back."""
        if self._save_pending:
            self._save_all(force=True)
        self._started = False

    def restore(self, snapshot: GuardStateSnapshot) -> None:
        """
        Resume from ``snapshot`` (state saved before a restart): cooldowns and the halt apply at once, the
        trading day is re-opened with the saved daily figures if it is the same day. Parts that do not
        validate are logged, kept in ``load_errors`` and skipped. Called on ``GUARD_RESUME_TOPIC``.
        """
        self._restore(snapshot)
        if self._started:
            self._roll(self._clock.timestamp_ns())

    def _restore(self, snapshot: GuardStateSnapshot) -> None:
        restored = parse_snapshot(snapshot)
        for message in restored.errors:
            self._restore_error(message)
        self.guard.restore(restored.global_state, restored.symbols, restored.cooldowns)
        self.restored = snapshot
        self._restored_halt_check = True  # the next roll tells whether the halt still stands
        # Publish the restored state in full at the next save (the day re-opens: a forced save).
        self._dirty_symbols.update(self.guard.symbols)

    def _restore_error(self, message: str) -> None:
        self.load_errors.append(message)
        self._log_error(f"Risk guard state ignored: {message}")

    def _on_resume(self, message: object) -> None:
        if isinstance(message, GuardStateSnapshot):
            self.restore(message)
        else:
            self._restore_error(f"{GUARD_RESUME_TOPIC}: {type(message).__name__} is not a GuardStateSnapshot")

    def reset(self) -> None:
        """The engine was reset (a new backtest run): start from fresh state, restored again at start."""
        self.detach()
        self._reset_state()
        if self.engine is not None:
            self.attach(self.engine)

    def resume(self) -> bool:
        """
        Lift a halt (an operator's decision, e.g. after ``MAX_DRAWDOWN`` with the session window).

        Returns whether trading was halted by the guard.
        """
        was = self.guard.global_guard.resume()
        if was:
            self._trigger("HALTED", "resume", None, "trading resumed by the operator")
            self._sync_trading_state()
            self._save_all(force=True)
        return was

    # -- pre-trade -----------------------------------------------------------------------------------------

    def check_order(self, order: Order) -> Decision:
        """
        Run the guards on one order about to be submitted.

        Returns :data:`~arb_plugin.risk.rules.ALLOW` or a denial; the caller denies the order with its reason.
        """
        now = self._clock.timestamp_ns()
        g = self._global
        if now >= g.day_end_ns:
            self._roll(now)
        intent, pair = _parse_tags(order.tags)
        if intent is not None and intent is not _ENTRY:
            return ALLOW  # reducing exposure is never blocked
        instrument_id = order.instrument_id
        if intent is None and self._provably_reduces(order):
            return ALLOW
        guard = self._guard_of_instrument.get(instrument_id)
        if guard is None:
            guard = self._bind_guard(instrument_id, pair)
        elif pair is not None and pair != guard.symbol:
            return rules.missing(f"{instrument_id} belongs to pair {guard.symbol}, order tagged pair={pair}")
        if g.halted or now < g.cooldown_until or guard.blocked_reason is not None or now < guard.cooldown_until:
            decision = self.guard.check_state(guard, now)
            if not decision:
                return decision
        return self._check_exposure(order, guard, now, hedged=intent is _ENTRY)

    def _check_exposure(self, order: Order, guard: SymbolGuard, now: int, hedged: bool) -> Decision:
        """
        Exposure checks of an entry. ``hedged``: a tagged pair entry, whose other legs will match it, so they
        are projected to at least this leg's worst-case size (both legs of a pair pass or the first is denied,
        instead of a second leg denied after the first was sent).
        """
        instrument_id = order.instrument_id
        cache = self._cache
        leg = self._legs.get(instrument_id)
        if leg is None:
            instrument = cache.instrument(instrument_id)
            if instrument is None:
                return rules.missing(f"instrument {instrument_id} not in the cache")
            leg = self._new_leg(instrument, guard)
        if cache.account_for_venue(instrument_id.venue) is None:
            return rules.missing(f"no account for venue {instrument_id.venue}")
        marks = self._marks
        known = marks.get(instrument_id)
        if known is not None and known[0] is cache.quote_tick(instrument_id):
            price, ts = known[1], known[2]  # the quote this price was taken from is still the latest
        else:
            mark = self._price_of(instrument_id)
            if mark is None:
                return rules.missing(f"no price (quote, trade or bar) for {instrument_id}")
            price, ts = mark
        limits = self.limits
        max_age = limits.max_data_age_ns
        if max_age is not None and now - ts > max_age:
            return rules.stale_market_data(instrument_id, now - ts, max_age)
        rates = self._rates()
        xrate = rates[leg.currency]
        if xrate is None:
            return rules.missing(f"no FX rate {leg.currency}/{self._reporting_code} (mark xrate)")
        max_fx_age = limits.max_fx_age_ns
        if max_fx_age is not None and guard.fx_instrument_id is not None:  # the pair is valued through FX
            fx_id = self._fx_ids.get(guard.fx_instrument_id)
            if fx_id is None:
                fx_id = self._fx_ids[guard.fx_instrument_id] = InstrumentId.from_str(guard.fx_instrument_id)
            fx_mark = self._price_of(fx_id)
            if fx_mark is None:
                return rules.missing(f"no price (quote, trade or bar) for FX instrument {fx_id}")
            if now - fx_mark[1] > max_fx_age:
                return rules.stale_market_data(fx_id, now - fx_mark[1], max_fx_age)
        book = self.book
        if price is not leg.price:
            book.set_price(leg, price, ts)

        quantity = self._decimal_quantity(order.quantity)
        if order.is_quote_quantity:
            quantity = quantity / price
        if order.side == _BUY:
            signed = quantity
            worst_after = max(abs(leg.position + leg.pending_buys + quantity), abs(leg.position - leg.pending_sells))
        else:
            signed = -quantity
            worst_after = max(abs(leg.position + leg.pending_buys), abs(leg.position - leg.pending_sells - quantity))
        krw_price = price if xrate is ONE else price * xrate
        position_after = worst_after * krw_price
        largest = position_after
        largest_id: object = instrument_id
        symbol_after = position_after
        with_portfolio = limits.max_portfolio_exposure is not None
        portfolio_delta = position_after - leg.notional * xrate if with_portfolio else ZERO
        net_position = leg.position
        for other in self._partners[leg]:
            net_position += other.position
            if not (other.worst or hedged):
                continue
            other_id: InstrumentId = other.instrument_id
            known = marks.get(other_id)
            if known is not None and known[0] is cache.quote_tick(other_id):
                other_price, other_ts = known[1], known[2]
            else:
                other_mark = self._price_of(other_id)
                if other_mark is None:
                    return rules.missing(f"no price (quote, trade or bar) for {other_id} ({guard.symbol} leg)")
                other_price, other_ts = other_mark
            other_xrate = rates[other.currency]
            if other_xrate is None:
                return rules.missing(f"no FX rate {other.currency}/{self._reporting_code} (mark xrate)")
            if other_price is not other.price:
                book.set_price(other, other_price, other_ts)
            other_worst = other.worst
            if hedged and worst_after > other_worst:
                other_worst = worst_after
            other_after = other_worst * (other_price if other_xrate is ONE else other_price * other_xrate)
            symbol_after += other_after
            if with_portfolio:
                portfolio_delta += other_after - other.notional * other_xrate
            if other_after > largest:
                largest = other_after
                largest_id = self._hedge_labels.get(other) or self._hedge_labels.setdefault(
                    other,
                    _HedgeLeg(other.instrument_id),
                )
        if book.unpriced:
            held = ", ".join(sorted(str(i) for i in book.unpriced))
            return rules.missing(f"no price for held {held}")
        portfolio_after = ZERO
        if with_portfolio:
            sums = book.notional_by_ccy
            portfolio_after = sums.get(self._reporting_code, ZERO) + portfolio_delta
            for code, _ in self._foreign:
                amount = sums.get(code)
                if amount:
                    rate = rates[code]
                    if rate is None:
                        return rules.missing(f"no FX rate {code}/{self._reporting_code} (mark xrate)")
                    portfolio_after += amount * rate
        unhedged = unhedged_after = ZERO
        if guard.limits.max_unhedged is not None and net_position:
            unhedged = abs(net_position) * krw_price
            unhedged_after = abs(net_position + signed) * krw_price
        return self.guard.check_exposure(
            guard,
            largest_id,
            largest,
            symbol_after,
            portfolio_after,
            unhedged,
            unhedged_after,
        )

    def _decimal_quantity(self, quantity: Quantity) -> Decimal:
        """``quantity.as_decimal()``, memoised: a strategy sends the same few sizes over and over."""
        raw = quantity.raw  # fixed-point: equal raws are equal quantities
        value = self._quantities_seen.get(raw)
        if value is None:
            if len(self._quantities_seen) >= 4096:
                self._quantities_seen.clear()
            value = self._quantities_seen[raw] = quantity.as_decimal()
        return value

    def _provably_reduces(self, order: Order) -> bool:
        """An untagged order reduces exposure only if it shrinks an open position, pending orders included."""
        if order.is_quote_quantity:
            return False
        leg = self._legs.get(order.instrument_id)
        if leg is not None:  # kept current by the order and position events
            position, buys, sells = leg.position, leg.pending_buys, leg.pending_sells
        else:
            position, buys, sells = self._quantities(order.instrument_id)
        quantity = order.quantity.as_decimal()
        reserved = self._reserved.get(order.client_order_id)
        if reserved is not None:  # already approved and counted as pending: not twice
            if reserved[1] > 0:
                buys -= reserved[1]
            else:
                sells += reserved[1]
        if order.side == _BUY:
            return position < 0 and quantity + buys <= -position
        return position > 0 and quantity + sells <= position

    def command_reduces(self, command: SubmitOrder | SubmitOrderList) -> bool:
        """Whether every order of ``command`` reduces exposure (what may pass while HALTED)."""
        orders = [command.order] if isinstance(command, SubmitOrder) else command.order_list.orders
        for order in orders:
            intent, _ = parse_order_tags(order.tags)
            if intent is _ENTRY:
                return False
            if intent is None and not self._provably_reduces(order):
                return False
        return True

    def check_increase(self, order: Order, command: ModifyOrder) -> Decision:
        """
        A modify that raises an order's quantity: the added quantity is checked as a new order of the same
        side, tags and (new) price, so a resting order cannot be grown past a limit the submit was held to.
        """
        assert command.quantity is not None
        added = Quantity(command.quantity.as_decimal() - order.quantity.as_decimal(), command.quantity.precision)
        common = {
            "trader_id": order.trader_id,
            "strategy_id": order.strategy_id,
            "instrument_id": order.instrument_id,
            "client_order_id": ClientOrderId(f"{order.client_order_id.value}-increase"),
            "order_side": order.side,
            "quantity": added,
            "init_id": UUID4(),
            "ts_init": order.ts_init,
            "quote_quantity": order.is_quote_quantity,
            "tags": order.tags,
        }
        price = command.price or (order.price if order.has_price else None)
        probe = LimitOrder(price=price, **common) if price is not None else MarketOrder(**common)
        return self.check_order(probe)

    def reserve(self, order: Order) -> None:
        """Count an approved order as pending until NautilusTrader's first event for it arrives."""
        leg = self._legs.get(order.instrument_id)
        if leg is None:
            return
        quantity = order.quantity.as_decimal()
        if order.is_quote_quantity and leg.price:
            quantity = quantity / leg.price
        signed = quantity if order.side == _BUY else -quantity
        self._reserved[order.client_order_id] = (leg, signed)
        if signed > 0:
            self.book.set_quantities(leg, leg.position, leg.pending_buys + signed, leg.pending_sells)
        else:
            self.book.set_quantities(leg, leg.position, leg.pending_buys, leg.pending_sells - signed)

    def record_denial(self, decision: Decision, order: Order, symbol: str | None = None) -> None:
        """Count a denial and publish it."""
        guard = decision.guard.value if decision.guard is not None else "UNKNOWN"
        if symbol is None:
            _, symbol = parse_order_tags(order.tags)
            if symbol is None:
                guard_of = self._guard_of_instrument.get(order.instrument_id)
                symbol = guard_of.symbol if guard_of is not None else str(order.instrument_id)
        self._trigger(guard, "deny", symbol, decision.reason, order.client_order_id.value)

    # -- NautilusTrader events -----------------------------------------------------------------------------

    def _on_order_event(self, event: OrderEvent) -> None:
        if type(event) is OrderInitialized:
            return  # not open, in flight nor reserved yet: the quantities are what they were (order hot path)
        self._reserved.pop(event.client_order_id, None)
        leg = self._legs.get(event.instrument_id) or self._leg_for_event(event.instrument_id)
        if leg is not None:
            self._refresh_quantities(leg)

    def _on_position_event(self, event: PositionEvent) -> None:
        leg = self._legs.get(event.instrument_id) or self._leg_for_event(event.instrument_id)
        if leg is None:
            return
        self._refresh_quantities(leg)
        leg.pnl_ts = event.ts_init
        self._refresh_pnl(leg)
        self._evaluate(self._guard_of_instrument[leg.instrument_id], force_save=True)

    def _on_quote(self, quote: QuoteTick) -> None:
        leg = self._legs.get(quote.instrument_id)
        if leg is None or not (leg.worst or leg.position):
            return
        price = (quote.bid_price.as_decimal() + quote.ask_price.as_decimal()) / 2
        self._on_mark(leg, price, quote.ts_init)

    def _on_bar(self, bar: Bar) -> None:
        leg = self._legs.get(bar.bar_type.instrument_id)
        if leg is None or not (leg.worst or leg.position):
            return
        self._on_mark(leg, bar.close.as_decimal(), bar.ts_init)

    def _on_mark(self, leg: Leg, price: Decimal, ts: int) -> None:
        if ts >= self.guard.global_guard.day_end_ns:
            self._roll(ts)
        self.book.set_price(leg, price, ts)
        if leg.position and ts - leg.pnl_ts >= _MARK_EVALUATION_NS:
            leg.pnl_ts = ts
            self._marks_due.append(leg)  # re-checked by _after_marks once the strategies have had the data
            if leg.instrument_id not in self._late_subscribed:
                self._late_subscribed.add(leg.instrument_id)
                bus = self._msgbus
                bus.subscribe(_quotes_topic(leg.instrument_id), self._after_marks, _LATE_PRIORITY)
                bus.subscribe(_bars_topic(leg.instrument_id), self._after_marks, _LATE_PRIORITY)

    def _after_marks(self, data: object) -> None:
        if not self._marks_due:
            return
        due, self._marks_due = self._marks_due, []
        for leg in due:
            self._refresh_pnl(leg)
            self._evaluate(self._guard_of_instrument[leg.instrument_id], force_save=False)

    def _on_pair_closed(self, message: PairClosed) -> None:
        now = self._clock.timestamp_ns()
        try:
            pnl = Decimal(message.pnl_krw)
        except ArithmeticError:
            self._log_error(f"PairClosed {message.symbol}: invalid pnl_krw={message.pnl_krw!r} ignored")
            return
        changed = self.guard.on_pair_closed(message.symbol, pnl, now)
        for scope in changed:
            self._cooldown_started(scope)
        if changed:
            self._save_all(force=True)

    def _on_day_alert(self, event: TimeEvent) -> None:
        self._roll(event.ts_event)

    # -- post-trade ----------------------------------------------------------------------------------------

    def _evaluate(self, guard: SymbolGuard, force_save: bool) -> None:
        session = self._convert(self.book.pnl_by_ccy)
        symbol_pnl = self._symbol_pnl(guard)
        if session is None or symbol_pnl is None:
            return  # cannot value PnL without FX: entries are denied by the pre-trade checks meanwhile
        trips = self.guard.evaluate(session, guard, symbol_pnl)
        for trip in trips:
            self._apply_trip(trip)
        self._dirty_symbols.add(guard.symbol)
        self._save_all(force=force_save or bool(trips))

    def _apply_trip(self, trip: Trip) -> None:
        now = self._clock.timestamp_ns()
        if trip.scope is None:
            self._trigger(trip.guard.value, "halt", None, trip.reason)
            self._log_error(f"Risk guard HALTED trading: {trip.reason}")
            self._sync_trading_state()
            if self.limits.flatten_on_halt:
                if self._msgbus.has_subscribers(FLATTEN_TOPIC):
                    self._msgbus.publish(FLATTEN_TOPIC, FlattenRequest(reason=trip.reason, ts_event=now))
                else:  # a trip while the node starts (no strategy subscribed yet): not published into the void
                    self._ask_flatten_later(trip.reason)
        else:
            self._trigger(trip.guard.value, "block", trip.scope, trip.reason)
            self._log_warning(f"Risk guard blocked {trip.scope} for the trading day: {trip.reason}")
        for scope in self.guard.cooldowns_for(trip, now):
            self._cooldown_started(scope)

    def _cooldown_started(self, scope: str | None) -> None:
        if scope is None:
            g = self.guard.global_guard
            reason = f"COOLDOWN: until {g.cooldown_until} ({g.cooldown_cause})"
            self._trigger("COOLDOWN", "cooldown", None, reason)
        else:
            s = self.guard.symbol(scope)
            self._trigger(
                "SYMBOL_COOLDOWN",
                "cooldown",
                scope,
                f"SYMBOL_COOLDOWN: {scope} until {s.cooldown_until} ({s.cooldown_cause})",
            )
            self._dirty_symbols.add(scope)  # published by the forced save that follows every new cooldown

    def _roll(self, now: int, publish: bool = True) -> None:
        cleared = self.guard.roll_day_if_due(now, self._session_pnl_or_zero, self._symbol_pnl_or_zero)
        if cleared is None:
            return
        if cleared:
            self._trigger("HALTED", "resume", None, f"new trading day {self.guard.global_guard.day_id}")
        self._sync_trading_state()
        if self._restored_halt_check:
            self._restored_halt_check = False
            g = self.guard.global_guard
            if g.halted and self.limits.flatten_on_halt:
                # a halt that survived the restart: its flatten is asked for again, once the strategies run
                self._ask_flatten_later(f"{g.halt_reason or 'halt restored after a restart'} (restored)")
        clock = self._clock
        if _DAY_ALERT in clock.timer_names:
            clock.cancel_timer(_DAY_ALERT)
        # on the node's loop, where the guard's handlers run (arb_plugin.timers)
        clock.set_time_alert_ns(_DAY_ALERT, self.guard.global_guard.day_end_ns, on_loop(self._on_day_alert))
        self._dirty_symbols.update(self.guard.symbols)
        if publish:
            self._save_all(force=True)
        else:
            self._save_pending = True

    def _ask_flatten_later(self, reason: str) -> None:
        # The strategies subscribe to the flatten topic when they start, after the engines (and, live, after
        # the actor that restores this state): the request goes out after the first data handled once one
        # has subscribed.
        if self._flatten_pending is None:
            self._flatten_pending = reason
            self._msgbus.subscribe("data.quotes.*", self._send_pending_flatten, _LATE_PRIORITY)
            self._msgbus.subscribe("data.bars.*", self._send_pending_flatten, _LATE_PRIORITY)

    def _send_pending_flatten(self, data: object) -> None:
        if not self._msgbus.has_subscribers(FLATTEN_TOPIC):
            return  # no strategy running yet: kept for the next data
        reason, self._flatten_pending = self._flatten_pending, None
        self._msgbus.unsubscribe("data.quotes.*", self._send_pending_flatten)
        self._msgbus.unsubscribe("data.bars.*", self._send_pending_flatten)
        if reason is not None and self.guard.global_guard.halted:
            now = self._clock.timestamp_ns()
            self._msgbus.publish(FLATTEN_TOPIC, FlattenRequest(reason=reason, ts_event=now))

    def _sync_trading_state(self) -> None:
        engine = self.engine
        if engine is None:
            return
        if self.guard.global_guard.halted:
            if engine.trading_state != _HALTED:
                engine.set_trading_state(_HALTED)
                self._we_halted = True  # only a halt we set is lifted by us (never an operator's)
        elif self._we_halted:
            self._we_halted = False
            if engine.trading_state == _HALTED:
                engine.set_trading_state(TradingState.ACTIVE)

    # -- state ---------------------------------------------------------------------------------------------

    def snapshot(self, symbols: Iterable[str] | None = None) -> GuardStateSnapshot:
        """
        The guard's state now, as published on ``GUARD_STATE_TOPIC``: the global level, running cooldowns
        and ``symbols`` (default: every symbol).
        """
        now = self._clock.timestamp_ns()
        guard = self.guard
        g = guard.global_guard
        day_id = g.day_id
        wanted = guard.symbols if symbols is None else symbols
        by_symbol = {}
        for symbol in wanted:
            level = guard.symbols.get(symbol)
            if level is not None:
                by_symbol[symbol] = to_dict(level.snapshot(now, day_id))
        return GuardStateSnapshot(
            state=to_dict(g.snapshot(now)),
            cooldowns=cooldown_scopes(guard.cooldowns(), now),
            ts_event=now,
            symbols=by_symbol,
        )

    def _save_all(self, force: bool) -> None:
        """Publish the state (the changed symbols only); routine saves at most once a second, trips at once."""
        now = self._clock.timestamp_ns()
        if not force and now - self._last_save_ns < _SAVE_INTERVAL_NS:
            self._save_pending = True
            return
        self._last_save_ns = now
        self._save_pending = False
        snapshot = self.snapshot(self._dirty_symbols)
        self._dirty_symbols.clear()
        self._msgbus.publish(GUARD_STATE_TOPIC, snapshot)

    # -- bookkeeping ---------------------------------------------------------------------------------------

    def _bind_guard(self, instrument_id: InstrumentId, pair: str | None) -> SymbolGuard:
        symbol = self.guard.symbol_of_instrument.get(str(instrument_id)) or pair or str(instrument_id)
        guard = self.guard.symbol(symbol)
        self.guard.bind(guard, str(instrument_id))
        self._guard_of_instrument[instrument_id] = guard
        self._symbol_legs.setdefault(symbol, [])
        return guard

    def _new_leg(self, instrument: Instrument, guard: SymbolGuard) -> Leg:
        instrument_id = instrument.id
        leg = self._legs.get(instrument_id)
        if leg is not None:
            return leg
        self.guard.bind(guard, str(instrument_id))
        self._guard_of_instrument[instrument_id] = guard
        currency = instrument.quote_currency
        self._currencies[currency.code] = currency
        leg = self.book.add_leg(instrument_id, guard.symbol, currency.code)
        self._legs[instrument_id] = leg
        symbol_legs = self._symbol_legs.setdefault(guard.symbol, [])
        symbol_legs.append(leg)
        for each in symbol_legs:
            self._partners[each] = [other for other in symbol_legs if other is not each]
        self._subscribe_data(instrument_id)
        mark = self._price_of(instrument_id)
        if mark is not None:
            self.book.set_price(leg, mark[0], mark[1])
        self._refresh_quantities(leg)
        self._refresh_pnl(leg)
        # A configured pair's other legs too, so an entry's first leg is checked with its hedge projected.
        # (In a live node the engine starts before the venue clients load the instruments: start() found none.)
        for symbol, instrument_ids, _ in self._pairs:
            if symbol == guard.symbol and str(instrument_id) in instrument_ids:
                for value in instrument_ids:
                    other_id = InstrumentId.from_str(value)
                    if other_id not in self._legs and (other := self._cache.instrument(other_id)) is not None:
                        self._new_leg(other, guard)
        return leg

    def _leg_for_event(self, instrument_id: InstrumentId) -> Leg | None:
        instrument = self._cache.instrument(instrument_id)
        if instrument is None:
            return None
        guard = self._guard_of_instrument.get(instrument_id) or self._bind_guard(instrument_id, None)
        return self._new_leg(instrument, guard)

    def _subscribe_data(self, instrument_id: InstrumentId) -> None:
        if instrument_id in self._subscribed:
            return
        self._subscribed.add(instrument_id)
        bus = self._msgbus
        bus.subscribe(_quotes_topic(instrument_id), self._on_quote, _EVENT_PRIORITY)
        bus.subscribe(_bars_topic(instrument_id), self._on_bar, _EVENT_PRIORITY)

    def _unsubscribe_data(self, instrument_id: InstrumentId) -> None:
        self._subscribed.discard(instrument_id)
        bus = self._msgbus
        quotes, bars = _quotes_topic(instrument_id), _bars_topic(instrument_id)
        bus.unsubscribe(quotes, self._on_quote)
        bus.unsubscribe(bars, self._on_bar)
        if instrument_id in self._late_subscribed:
            self._late_subscribed.discard(instrument_id)
            bus.unsubscribe(quotes, self._after_marks)
            bus.unsubscribe(bars, self._after_marks)

    def _quantities(self, instrument_id: InstrumentId) -> tuple[Decimal, Decimal, Decimal]:
        """Net position and pending buy/sell quantities (open, in flight and approved orders)."""
        cache = self._cache
        position = ZERO
        for p in cache.positions_open(instrument_id=instrument_id):
            position += p.signed_decimal_qty()
        buys = ZERO
        sells = ZERO
        seen: set[ClientOrderId] = set()
        open_orders = cache.orders_open(instrument_id=instrument_id)
        inflight = cache.orders_inflight(instrument_id=instrument_id)
        for orders in (open_orders, inflight):
            for o in orders:
                if o.client_order_id in seen:
                    continue
                seen.add(o.client_order_id)
                leaves = o.leaves_qty.as_decimal()
                if o.is_quote_quantity:
                    mark = self._price_of(instrument_id)
                    leaves = leaves / mark[0] if mark is not None and mark[0] else leaves
                if o.side == _BUY:
                    buys += leaves
                else:
                    sells += leaves
        for client_order_id, (leg, signed) in self._reserved.items():
            if leg.instrument_id == instrument_id and client_order_id not in seen:
                if signed > 0:
                    buys += signed
                else:
                    sells -= signed
        return position, buys, sells

    def _refresh_quantities(self, leg: Leg) -> None:
        position, buys, sells = self._quantities(leg.instrument_id)
        self.book.set_quantities(leg, position, buys, sells)

    def _refresh_pnl(self, leg: Leg) -> None:
        instrument_id = leg.instrument_id
        realized = self._portfolio.realized_pnl(instrument_id)
        unrealized = self._portfolio.unrealized_pnl(instrument_id)
        if realized is None and unrealized is None:
            return
        if realized is not None and unrealized is not None and realized.currency != unrealized.currency:
            realized = self._portfolio.realized_pnl(instrument_id, target_currency=self._reporting)
            unrealized = self._portfolio.unrealized_pnl(instrument_id, target_currency=self._reporting)
            if realized is None or unrealized is None:
                return
        money = realized if realized is not None else unrealized
        assert money is not None
        total = money.as_decimal()
        if realized is not None and unrealized is not None:
            total = realized.as_decimal() + unrealized.as_decimal()
        self._currencies.setdefault(money.currency.code, money.currency)
        self.book.set_pnl(leg, total, money.currency.code)

    def _price_of(self, instrument_id: InstrumentId) -> tuple[Decimal, int] | None:
        """Latest price and its ``ts_init``: quote mid, else last trade, else last external LAST bar close."""
        cache = self._cache
        quote = cache.quote_tick(instrument_id)
        if quote is not None:
            known = self._marks.get(instrument_id)
            if known is not None and known[0] is quote:
                return known[1], known[2]
            price = (quote.bid_price.as_decimal() + quote.ask_price.as_decimal()) / 2
            self._marks[instrument_id] = (quote, price, quote.ts_init)
            return price, quote.ts_init
        trade = cache.trade_tick(instrument_id)
        if trade is not None:
            return trade.price.as_decimal(), trade.ts_init
        bar_type = self._bar_types.get(instrument_id)
        if bar_type is None:
            bar_types = cache.bar_types(instrument_id, PriceType.LAST, AggregationSource.EXTERNAL)
            if not bar_types:
                return None
            bar_type = self._bar_types[instrument_id] = bar_types[0]
        bar = cache.bar(bar_type)
        if bar is None:
            return None
        return bar.close.as_decimal(), bar.ts_init

    def _rates(self) -> dict[str, Decimal | None]:
        """The mark xrate of every known currency into the reporting currency (``None`` where not set)."""
        rates = self._rate_table
        if len(rates) != len(self._currencies):
            rates.clear()
            rates.update(dict.fromkeys(self._currencies))
            rates[self._reporting_code] = ONE
            self._foreign = [(c, cur) for c, cur in self._currencies.items() if c != self._reporting_code]
        get_mark_xrate = self._cache.get_mark_xrate
        reporting = self._reporting
        known = self._xrates
        for code, currency in self._foreign:
            value = get_mark_xrate(currency, reporting)
            cached = known.get(code)
            if cached is not None and cached[0] == value:
                rates[code] = cached[1]
            else:
                rates[code] = self._xrate(code)
        return rates

    def _xrate(self, code: str) -> Decimal | None:
        """Mark xrate ``code`` -> reporting currency as a ``Decimal`` (``None`` when not set)."""
        if code == self._reporting_code:
            return ONE
        value = self._cache.get_mark_xrate(self._currencies[code], self._reporting)
        if value is None:
            return None
        cached = self._xrates.get(code)
        if cached is not None and cached[0] == value:
            return cached[1]
        rate = Decimal(repr(value))
        self._xrates[code] = (value, rate)
        return rate

    def _convert(self, sums: dict[str, Decimal]) -> Decimal | None:
        total = ZERO
        for code, amount in sums.items():
            if amount:
                rate = self._xrate(code)
                if rate is None:
                    return None
                total += amount * rate
        return total

    def _missing_xrates(self, sums: dict[str, Decimal]) -> str:
        codes = sorted(c for c, a in sums.items() if a and self._xrate(c) is None)
        return ", ".join(f"no FX rate {c}/{self._reporting_code} (mark xrate)" for c in codes)

    def _symbol_pnl(self, guard: SymbolGuard) -> Decimal | None:
        total = ZERO
        for leg in self._symbol_legs.get(guard.symbol, ()):
            if leg.pnl:
                rate = self._xrate(leg.pnl_currency)
                if rate is None:
                    return None
                total += leg.pnl * rate
        return total

    def _session_pnl_or_zero(self) -> Decimal:
        value = self._convert(self.book.pnl_by_ccy)
        return value if value is not None else self.guard.global_guard.session_pnl

    def _symbol_pnl_or_zero(self, guard: SymbolGuard) -> Decimal:
        value = self._symbol_pnl(guard)
        return value if value is not None else guard.pnl

    # -- output --------------------------------------------------------------------------------------------

    def _trigger(
        self,
        guard: str,
        action: str,
        symbol: str | None,
        reason: str,
        client_order_id: str | None = None,
    ) -> None:
        self.trigger_counts[guard] += 1
        self._msgbus.publish(
            GUARD_TRIGGER_TOPIC,
            GuardTriggered(
                guard=guard,
                action=action,
                symbol=symbol,
                reason=reason,
                ts_event=self._clock.timestamp_ns(),
                client_order_id=client_order_id,
            ),
        )

    def _log_error(self, message: str) -> None:
        if self.engine is not None:
            self.engine._log.error(message)

    def _log_warning(self, message: str) -> None:
        if self.engine is not None:
            self.engine._log.warning(message)


def _quotes_topic(instrument_id: InstrumentId) -> str:
    return f"data.quotes.{instrument_id.venue}.{instrument_id.symbol}"


def _bars_topic(instrument_id: InstrumentId) -> str:
    return f"data.bars.{instrument_id}-*"


# -- the engine subclasses ---------------------------------------------------------------------------------


class _GuardedEngineMixin:
    """The overrides shared by the backtest and the live engine (see the module docstring)."""

    _gate: RiskGate

    @property
    def gate(self) -> RiskGate:
        return self._gate

    def _handle_submit_order(self, command: SubmitOrder) -> None:
        gate = self._gate
        decision = gate.check_order(command.order)
        if not decision.allowed:
            self._deny_command(command, decision.reason)  # type: ignore[attr-defined]
            gate.record_denial(decision, command.order)
            return
        gate.reserve(command.order)
        super()._handle_submit_order(command)  # type: ignore[misc]

    def _handle_submit_order_list(self, command: SubmitOrderList) -> None:
        gate = self._gate
        orders = command.order_list.orders
        for order in orders:
            decision = gate.check_order(order)
            if not decision.allowed:
                self._deny_order_list(command.order_list, decision.reason)  # type: ignore[attr-defined]
                gate.record_denial(decision, order)
                return
            gate.reserve(order)  # later orders of the list see the earlier ones as pending
        super()._handle_submit_order_list(command)  # type: ignore[misc]

    def _handle_modify_order(self, command: ModifyOrder) -> None:
        order = self._cache.order(command.client_order_id)  # type: ignore[attr-defined]
        if order is not None and command.quantity is not None and command.quantity > order.quantity:
            gate = self._gate
            decision = gate.check_increase(order, command)
            if not decision.allowed:
                self._reject_modify_order(order, decision.reason)  # type: ignore[attr-defined]
                gate.record_denial(decision, order)
                return
        super()._handle_modify_order(command)  # type: ignore[misc]

    def _execution_gateway(self, instrument: Instrument, command: SubmitOrder | SubmitOrderList) -> None:
        if self.trading_state == _HALTED and self._gate.command_reduces(command):  # type: ignore[attr-defined]
            self._order_submit_throttler.send(command)  # type: ignore[attr-defined]
            return
        super()._execution_gateway(instrument, command)  # type: ignore[misc]

    def _on_start(self) -> None:
        super()._on_start()  # type: ignore[misc]
        self._gate.start()

    def _on_stop(self) -> None:
        self._gate.stop()
        super()._on_stop()  # type: ignore[misc]

    def _reset(self) -> None:
        super()._reset()  # type: ignore[misc]
        self._gate.reset()

    def _dispose(self) -> None:
        self._gate.detach()
        super()._dispose()  # type: ignore[misc]


class GuardedRiskEngine(_GuardedEngineMixin, RiskEngine):
    """NautilusTrader's ``RiskEngine`` with our guards in front of its checks (backtest)."""

    def __init__(
        self,
        gate: RiskGate,
        portfolio: Portfolio,
        msgbus: MessageBus,
        cache: Cache,
        clock: Clock,
        config: RiskEngineConfig | None = None,
    ) -> None:
        super().__init__(portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock, config=config)
        self._gate = gate


class GuardedLiveRiskEngine(_GuardedEngineMixin, LiveRiskEngine):
    """NautilusTrader's ``LiveRiskEngine`` with our guards in front of its checks (paper and live)."""

    def __init__(
        self,
        gate: RiskGate,
        loop: Any,
        portfolio: Portfolio,
        msgbus: MessageBus,
        cache: Cache,
        clock: Any,
        config: LiveRiskEngineConfig | None = None,
    ) -> None:
        super().__init__(
            loop=loop,
            portfolio=portfolio,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )
        self._gate = gate


# -- installation ------------------------------------------------------------------------------------------


def install_risk_guard(
    target: Any,
    limits: GuardLimits,
    pairs: Iterable[tuple[str, Iterable[str], str | None]] = (),
    config: RiskEngineConfig | None = None,
) -> RiskGate:
    """
    Install the guards into a built node or engine, before it starts.

    Parameters
    ----------
    target : BacktestEngine | TradingNode | NautilusKernel
        Anything with a ``kernel`` (``BacktestEngine``, ``BacktestNode.get_engine(...)``, ``TradingNode``), or
        the kernel itself.
    limits : GuardLimits
        The limits, e.g. :func:`arb_plugin.risk.guard.guard_limits` of the environment's ``RiskSettings``
        (:func:`install_from_settings` does both).
    pairs : Iterable[tuple[str, Iterable[str], str | None]]
        ``(symbol, instrument ids, FX instrument id)`` per pair, e.g. :func:`guarded_pairs`.
    config : RiskEngineConfig, optional
        The engine config; default the kernel's own.

    Returns
    -------
    RiskGate
        Holds the guards, ``trigger_counts`` and the engine (``gate.engine``).

    Raises
    ------
    RuntimeError
        If the engine is already running or guarded, or NautilusTrader no longer has what the swap relies on.
    """
    kernel: NautilusKernel = getattr(target, "kernel", target)
    old = kernel.risk_engine
    if isinstance(old, _GuardedEngineMixin):
        raise RuntimeError("the risk guard is already installed on this kernel")
    if old.is_running:
        raise RuntimeError("install the risk guard after the node is built and before it starts")
    for owner, name in ((kernel, "_risk_engine"), (kernel.trader, "_risk_engine"), (kernel, "_config")):
        if not hasattr(owner, name):
            raise RuntimeError(
                f"{type(owner).__name__}.{name} is gone: this NautilusTrader version is not supported "
                "(arb-plugin pins nautilus_trader==1.231.0)",
            )
    is_live = isinstance(old, LiveRiskEngine)
    if config is None:
        config = kernel._config.risk_engine
    if config is None:
        config = LiveRiskEngineConfig() if is_live else RiskEngineConfig()

    bus = kernel.msgbus
    bus.deregister("RiskEngine.execute", old.execute)
    bus.deregister("RiskEngine.process", old.process)
    bus.unsubscribe("events.order.*", old._handle_event)
    bus.unsubscribe("events.position.*", old._handle_event)

    gate = RiskGate(limits, pairs, kernel.cache, kernel.portfolio, bus, kernel.clock)
    new: RiskEngine
    if is_live:
        if not isinstance(config, LiveRiskEngineConfig):
            raise TypeError(f"a live kernel needs a LiveRiskEngineConfig, got {type(config).__name__}")
        new = GuardedLiveRiskEngine(
            gate,
            kernel.loop,
            kernel.portfolio,
            bus,
            kernel.cache,
            kernel.clock,
            config,
        )
    else:
        new = GuardedRiskEngine(gate, kernel.portfolio, bus, kernel.cache, kernel.clock, config)
    kernel._risk_engine = new
    kernel.trader._risk_engine = new
    old.dispose()
    gate.attach(new)
    _guard_emulator_submits(kernel, gate, new)
    return gate


def _guard_emulator_submits(kernel: NautilusKernel, gate: RiskGate, engine: RiskEngine) -> None:
    # An order with an emulation trigger goes from the strategy to NautilusTrader's OrderEmulator, which
    # later releases it straight to the execution engine: no RiskEngine ever sees it. Its submit is checked
    # in front of the emulator, and its release in front of the execution engine, against the same guards
    # (a denial is a real OrderDenied: RELEASED -> DENIED is a transition of NautilusTrader's order FSM).

    def check(command: Any, orders: list[Order]) -> bool:
        for order in orders:
            decision = gate.check_order(order)
            if not decision.allowed:
                if order.status == OrderStatus.RELEASED:  # NautilusTrader's _deny_order denies INITIALIZED only
                    denied = OrderDenied(
                        order.trader_id,
                        order.strategy_id,
                        order.instrument_id,
                        order.client_order_id,
                        decision.reason,
                        UUID4(),
                        kernel.clock.timestamp_ns(),
                    )
                    kernel.msgbus.send("ExecEngine.process", denied)
                else:
                    engine._deny_command(command, decision.reason)
                gate.record_denial(decision, order)
                return False
        return True

    def guard_submits(emulator_execute: Callable[[Any], None]) -> Callable[[Any], None]:
        def execute(command: Any) -> None:
            if isinstance(command, SubmitOrder):
                orders = [command.order]
            elif isinstance(command, SubmitOrderList):
                orders = command.order_list.orders
            else:
                orders = []
            if check(command, orders):
                emulator_execute(command)

        return execute

    def guard_releases(exec_execute: Callable[[Any], None]) -> Callable[[Any], None]:
        def execute(command: Any) -> None:
            # only the emulator sends an order RELEASED; every other submit has passed the RiskEngine
            released = type(command) is SubmitOrder and command.order.status == OrderStatus.RELEASED
            if not released or check(command, [command.order]):
                exec_execute(command)

        return execute

    add_layer(kernel, "OrderEmulator.execute", kernel._emulator.execute, "risk-guard", RANK_GUARD, guard_submits)
    add_layer(kernel, "ExecEngine.execute", kernel.exec_engine.execute, "risk-guard", RANK_GUARD, guard_releases)


def guarded_pairs(pairs: Iterable[Any]) -> list[tuple[str, tuple[str, str], str]]:
    """
    ``(symbol, (binance, upbit), fx)`` per pair, from ``PairSettings`` or ``ArbitragePairConfig``; the symbol is
    the Binance leg's symbol (``BTCUSDT``), as the strategy tags its orders.
    """
    out = []
    for pair in pairs:
        if isinstance(pair, ArbitragePairConfig):
            binance, upbit, fx = pair.binance_instrument_id, pair.upbit_instrument_id, pair.fx_instrument_id
        else:
            binance, upbit, fx = (InstrumentId.from_str(v) for v in (pair.binance, pair.upbit, pair.fx))
        out.append((binance.symbol.value, (str(binance), str(upbit)), str(fx)))
    return out


def install_from_settings(
    target: Any,
    settings: Settings,
    data: MarketDataSettings | None,
) -> RiskGate | None:
    """
    Install the guards with the environment's limits (``settings.risk``) for the configured pairs.

    ``data`` is the market data settings of the mode (``settings.backtest.data`` for a backtest,
    ``settings.strategy.data`` live and paper): it bounds the age of the prices entries are checked on.
    Returns ``None`` (nothing installed) when ``risk.enabled`` is false.
    """
    if not settings.risk.enabled:
        return None
    return install_risk_guard(
        target,
        guard_limits(settings.risk, data),
        guarded_pairs(settings.strategy.pairs),
    )
