"""
Leg execution and leg-risk handling, mixed into :class:`arb_plugin.strategy.ArbitrageStrategy`.

Orders of a pair are tracked in its :class:`arb_plugin.legs.PairBook`; once none is open, the pair's phase
is resolved:

- **entry**: both legs filled -> OPEN; nothing filled -> FLAT; equal partial fills -> OPEN at the smaller
  size; unequal legs -> leg risk: re-hedge the lagging leg (policy ``rehedge``, up to
  ``max_rehedge_attempts``) or unwind the excess, with LIMIT IOC orders bounded by ``unwind_slippage_bps``;
- **exit**: both venues flat -> FLAT and a :class:`arb_plugin.events.PairClosed`; otherwise the remainders
  are retried within the bound.

Retries are throttled (a burst, then one per ``leg_timeout_ms``), orders still open after
``leg_timeout_ms`` are cancelled, and a remainder below a venue's minimum order is reported as dust. Every
step is published as a :class:`arb_plugin.events.LegRiskAlert` and logged: never a silent naked position.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING
from typing import Any

from nautilus_trader.common.component import TimeEvent
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.events import OrderExpired
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Quantity
from nautilus_trader.model.orders import Order

from arb_plugin.events import LEG_RISK_TOPIC
from arb_plugin.events import PAIR_CLOSED_TOPIC
from arb_plugin.events import PAIR_STATE_TOPIC
from arb_plugin.events import Direction
from arb_plugin.events import LegRiskAlert
from arb_plugin.events import OrderIntent
from arb_plugin.events import PairClosed
from arb_plugin.events import PairStatus
from arb_plugin.events import order_tags
from arb_plugin.legs import LegOrder
from arb_plugin.order_ids import ClientOrderIds
from arb_plugin.pair_runtime import PairRuntime
from arb_plugin.pricing import raw_to_decimal
from arb_plugin.pricing import round_price
from arb_plugin.sizing import fits
from arb_plugin.spread import BPS

if TYPE_CHECKING:
    from arb_plugin.strategy import ArbitrageStrategyConfig


_MS = 1_000_000


class LegExecution:
    """Order tracking and leg-risk resolution for the pairs of an ``ArbitrageStrategy``."""

    arb_config: ArbitrageStrategyConfig
    counters: dict[str, int]
    _pairs: dict[str, PairRuntime]
    _order_pairs: dict[str, PairRuntime]
    # provided by NautilusTrader's Strategy
    cache: Any
    clock: Any
    log: Any
    msgbus: Any
    order_factory: Any
    _order_ids: ClientOrderIds
    _last_order_id: str | None  # the newest client order id issued (pair snapshots carry it; resume adopts newer)
    _leg_timeout_handler: Any  # _on_leg_timeout made to run on the node's loop (set on start)

    if TYPE_CHECKING:  # provided by Strategy and ArbitrageStrategy; declared here for type checking only

        def submit_order(self, order: Order) -> None: ...

        def cancel_order(self, order: Order) -> None: ...

        def _exit(self, pair: PairRuntime, ts: int, reason: str) -> None: ...

    def _leg_order(
        self,
        pair: PairRuntime,
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
        client_order_id = self._order_ids.next()
        if is_binance and not bounded:
            order = self.order_factory.market(instrument.id, side, qty, tags=tags, client_order_id=client_order_id)
            self._last_order_id = order.client_order_id.value
            return order
        quote = pair.binance if is_binance else pair.upbit
        slip = (self.arb_config.unwind_slippage_bps if bounded else self.arb_config.slippage_bps) / BPS
        if buy:
            best = raw_to_decimal(quote.ask)
            price = max(round_price(instrument, best * (1 + slip), "down"), round_price(instrument, best, "up"))
        else:
            best = raw_to_decimal(quote.bid)
            price = min(round_price(instrument, best * (1 - slip), "up"), round_price(instrument, best, "down"))
        order = self.order_factory.limit(
            instrument.id,
            side,
            qty,
            price,
            time_in_force=TimeInForce.IOC,
            tags=tags,
            client_order_id=client_order_id,
        )
        self._last_order_id = order.client_order_id.value
        return order

    def _track(self, pair: PairRuntime, order: Order, intent: OrderIntent) -> LegOrder:
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
        return leg

    def _arm_timeout(self, pair: PairRuntime) -> None:
        name = f"arb-leg-timeout-{pair.symbol}"
        if name in self.clock.timer_names:
            self.clock.cancel_timer(name)
        self.clock.set_time_alert_ns(
            name,
            self.clock.timestamp_ns() + self.arb_config.leg_timeout_ms * _MS,
            self._leg_timeout_handler,
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
                    f"{symbol} leg {leg.client_order_id} not done after {self.arb_config.leg_timeout_ms} ms: cancelling"
                )
                self.cancel_order(order)

    # -- order events -----------------------------------------------------------------------------------------
    def on_order_filled(self, event: OrderFilled) -> None:
        pair = self._order_pairs.get(event.client_order_id.value)
        if pair is None:
            return
        self._book_fill(pair, event, event.last_qty.as_decimal())
        self._maybe_resolve(pair)

    def _book_fill(self, pair: PairRuntime, event: OrderFilled, qty: Decimal) -> None:
        """Book ``qty`` of ``event`` (all of it, or the part a resume has not booked yet) into the pair."""
        instrument = (
            pair.binance_instrument if event.instrument_id == pair.binance_instrument.id else pair.upbit_instrument
        )
        px = event.last_px.as_decimal()
        share = qty / event.last_qty.as_decimal()  # of the fill's commission
        fee_base = Decimal(0)
        if event.commission.currency == instrument.base_currency:
            # taken from the base bought: the leg holds less than it traded. An entry's is in what the exit
            # sells (so not valued again); an exit's leaves the venue short of it after the round trip (valued)
            fee_base = event.commission.as_decimal() * share
            fee = fee_base * px if pair.book.status is PairStatus.EXITING else Decimal(0)
        else:
            fee = self._fee_in_quote(event, instrument) * share
        client_order_id = event.client_order_id.value
        if instrument.quote_currency == KRW:
            pair.book.apply_fill(client_order_id, qty, px, fee, Decimal(1), fee_base)
        elif pair.fx.ref_mid2:
            pair.book.apply_fill(client_order_id, qty, px, fee, pair.fx_rate(), fee_base)
        else:  # no FX rate yet (a resume in a new process): the USDT flow is valued at the first rate
            order = pair.book.apply_fill(client_order_id, qty, px, fee, Decimal(0), fee_base)
            if order is not None:
                pair.book.unvalued_quote_flow += (-px * qty if order.side == "BUY" else px * qty) - fee

    def _fee_in_quote(self, event: OrderFilled, instrument: Instrument) -> Decimal:
        commission = event.commission
        if commission.currency == instrument.quote_currency:
            return commission.as_decimal()
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

    def _maybe_resolve(self, pair: PairRuntime) -> None:
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

    def _resolve(self, pair: PairRuntime) -> None:
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

    def _resolve_entry(self, pair: PairRuntime, failures: list[str], ts: int) -> None:
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
            pair.want_exit = False  # a flatten asked for while entering: nothing is left to exit
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
            self.arb_config.leg_risk_policy == "rehedge"
            and book.retries < self.arb_config.max_rehedge_attempts
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

    def _resolve_exit(self, pair: PairRuntime, failures: list[str], ts: int) -> None:
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

    def _accept_dust(self, pair: PairRuntime, ts: int) -> None:
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
            pair.want_exit = False
            self._close(pair, ts, "unwound" if book.status is PairStatus.ENTERING else pair.exit_reason)

    def _close(self, pair: PairRuntime, ts: int, reason: str) -> None:
        book = pair.book
        direction = book.direction or Direction.BUY_BINANCE
        qty = book.target_qty
        pnl = book.close()
        pair.new_phase()
        self.counters["round_trips"] += 1
        self.log.info(f"{pair.symbol} FLAT ({reason}) round trip pnl={pnl:.0f} KRW")
        self.msgbus.publish(PAIR_CLOSED_TOPIC, PairClosed(pair.symbol, direction, str(qty), str(pnl), reason, ts))

    def _may_retry(self, pair: PairRuntime, ts: int) -> bool:
        if (
            pair.sends < self.arb_config.max_rehedge_attempts + 3
            or ts - pair.last_retry_ts >= self.arb_config.leg_timeout_ms * _MS
        ):
            pair.sends += 1
            pair.last_retry_ts = ts
            return True
        return False

    def _send_towards_targets(self, pair: PairRuntime, intent: OrderIntent, bounded: bool) -> bool:
        """Send the orders that move each venue to the phase's target; return whether any was sent."""
        book = pair.book
        target_b, target_u = book.targets()
        legs = []
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
            legs.append((instrument, delta > 0, qty))
        if not legs:
            return False
        with pair.submitting():  # each order built, tracked and sent before the next is built
            for instrument, buy, qty in legs:
                order = self._leg_order(pair, instrument, buy, qty, intent, bounded=bounded)
                self._track(pair, order, intent)
                self.submit_order(order)
        self._arm_timeout(pair)
        self._maybe_resolve(pair)  # orders denied on submit are already closed: carry on now
        return True

    def _tradable_qty(self, pair: PairRuntime, qty: Decimal) -> bool:
        if qty <= 0:
            return False
        return (
            fits(pair.binance_rules, qty, raw_to_decimal(pair.binance.bid)) is None
            and fits(pair.upbit_rules, qty, raw_to_decimal(pair.upbit.bid)) is None
        )

    def _publish_state(self, pair: PairRuntime, ts: int) -> None:
        self.msgbus.publish(PAIR_STATE_TOPIC, pair.book.snapshot(ts, self._last_order_id))

    def _leg_risk(self, pair: PairRuntime, stage: str, detail: str, ts: int) -> None:
        if stage == "detected":
            self.counters["leg_risk_events"] += 1
        pair.last_alert_stage = stage
        self.log.warning(f"{pair.symbol} LEG RISK {stage}: unhedged={pair.book.unhedged} {detail}")
        self.msgbus.publish(LEG_RISK_TOPIC, LegRiskAlert(pair.symbol, stage, str(pair.book.unhedged), detail, ts))
