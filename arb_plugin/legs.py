"""
Pure bookkeeping of one arbitrage pair: what each venue holds for the pair, the orders in flight and the
round trip's cash flows. No NautilusTrader state: the strategy feeds it fills and asks it what to do.

Quantities are signed base units per venue (``+`` long): an entry ``BUY_BINANCE`` of ``q`` aims for
``binance = +q, upbit = -q``; the pair is hedged when ``binance + upbit == 0``. Cash flows are booked in
KRW with the FX rate at fill time (``+`` for sells, ``-`` for buys, fees subtracted).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

from arb_plugin.events import Direction
from arb_plugin.events import LegFill
from arb_plugin.events import OrderIntent
from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.events import WorkingOrder

ZERO = Decimal(0)


@dataclass(slots=True)
class LegOrder:
    """One order of the pair in flight."""

    client_order_id: str
    instrument_id: str
    venue: str  # "BINANCE" | "UPBIT"
    side: str  # "BUY" | "SELL"
    quantity: Decimal
    intent: OrderIntent
    filled: Decimal = ZERO
    closed: bool = False
    failure: str | None = None

    def snapshot(self) -> WorkingOrder:
        return WorkingOrder(
            client_order_id=self.client_order_id,
            instrument_id=self.instrument_id,
            side=self.side,
            quantity=str(self.quantity),
            filled=str(self.filled),
            intent=self.intent,
        )


@dataclass(slots=True)
class VenueLeg:
    """
    What one venue holds for the pair (signed base quantity) and its average entry price.

    ``fee_base`` is the base asset paid in commissions in the current phase (Binance spot without BNB takes
    a buy's fee in the bought asset): the leg holds that much less than it traded.
    """

    instrument_id: str
    quantity: Decimal = ZERO
    avg_px: Decimal = ZERO
    fee_base: Decimal = ZERO

    @property
    def traded(self) -> Decimal:
        """The signed quantity the phase's fills traded (held plus the base paid in fees)."""
        return self.quantity + self.fee_base

    def apply(self, signed_qty: Decimal, price: Decimal) -> None:
        """Book a fill: adding to the position moves the average, reducing keeps it."""
        new = self.quantity + signed_qty
        if self.quantity == 0 or (self.quantity > 0) == (signed_qty > 0):
            self.avg_px = (self.avg_px * abs(self.quantity) + price * abs(signed_qty)) / abs(new) if new else ZERO
        elif new == 0:
            self.avg_px = ZERO
        elif (new > 0) != (self.quantity > 0):
            self.avg_px = price  # flipped through zero
        self.quantity = new


@dataclass(slots=True)
class PairBook:
    """State of one pair: lifecycle status, venue legs, orders in flight and PnL counters."""

    symbol: str
    binance: VenueLeg
    upbit: VenueLeg
    status: PairStatus = PairStatus.FLAT
    direction: Direction | None = None
    target_qty: Decimal = ZERO
    entry_edge_bps: Decimal | None = None
    entry_ts: int | None = None
    working: dict[str, LegOrder] = field(default_factory=dict)
    retries: int = 0
    trip_flow_krw: Decimal = ZERO
    unvalued_quote_flow: Decimal = ZERO  # USDT cash flows booked before any FX rate was known (a restart)
    realized_pnl_krw: Decimal = ZERO
    round_trips: int = 0

    # -- derived ------------------------------------------------------------------------------------------
    @property
    def unhedged(self) -> Decimal:
        """Signed base quantity not matched across the venues (``+``: long overall), as traded."""
        return self.binance.traded + self.upbit.traded

    @property
    def hedged(self) -> Decimal:
        """Base quantity traded long on one venue and short on the other."""
        b, u = self.binance.traded, self.upbit.traded
        return min(abs(b), abs(u)) if (b > 0 > u) or (u > 0 > b) else ZERO

    @property
    def is_flat(self) -> bool:
        """Nothing left to trade back: every leg's fills net to zero (a fee paid in base is not a position)."""
        return self.binance.traded == 0 and self.upbit.traded == 0

    @property
    def has_open_orders(self) -> bool:
        return any(not leg.closed for leg in self.working.values())

    def leg(self, venue: str) -> VenueLeg:
        return self.binance if venue == "BINANCE" else self.upbit

    def targets(self) -> tuple[Decimal, Decimal]:
        """
        The ``(binance, upbit)`` quantities the current phase aims for, as held: what its fills trade less
        the base paid in fees (an exit sells what a leg holds, not what it bought).
        """
        if self.status is PairStatus.EXITING or self.direction is None:
            b, u = ZERO, ZERO
        else:
            q = self.target_qty
            b, u = (q, -q) if self.direction is Direction.BUY_BINANCE else (-q, q)
        return b - self.binance.fee_base, u - self.upbit.fee_base

    def _new_phase_fees(self) -> None:
        self.binance.fee_base = ZERO
        self.upbit.fee_base = ZERO

    # -- transitions --------------------------------------------------------------------------------------
    def start_entry(self, direction: Direction, quantity: Decimal, edge_bps: Decimal | None, ts: int) -> None:
        self.status = PairStatus.ENTERING
        self.direction = direction
        self.target_qty = quantity
        self.entry_edge_bps = edge_bps
        self.entry_ts = ts
        self.retries = 0
        self.trip_flow_krw = ZERO
        self._new_phase_fees()

    def open(self, quantity: Decimal) -> None:
        self.status = PairStatus.OPEN
        self.target_qty = quantity
        self.retries = 0

    def start_exit(self) -> None:
        self.status = PairStatus.EXITING
        self.retries = 0
        self._new_phase_fees()  # the entry's base fees are in what the legs hold: the exit sells that

    def abort(self) -> None:
        """Back to FLAT after an entry in which nothing was traded."""
        self.status = PairStatus.FLAT
        self.direction = None
        self.target_qty = ZERO
        self.entry_edge_bps = None
        self.entry_ts = None
        self.retries = 0

    def close(self) -> Decimal:
        """Finish the round trip; return its PnL in KRW (cash flows, FX at fill time)."""
        pnl = self.trip_flow_krw
        self.realized_pnl_krw += pnl
        self.round_trips += 1
        self.status = PairStatus.FLAT
        self.direction = None
        self.target_qty = ZERO
        self.entry_edge_bps = None
        self.entry_ts = None
        self.trip_flow_krw = ZERO
        self.retries = 0
        for leg in (self.binance, self.upbit):  # what an exit's base fee took is a cost (in the PnL), not a position
            leg.quantity = leg.traded
            leg.fee_base = ZERO
        return pnl

    def track(self, order: LegOrder) -> None:
        self.working[order.client_order_id] = order

    def apply_fill(
        self,
        client_order_id: str,
        quantity: Decimal,
        price: Decimal,
        fee_quote: Decimal,
        krw_per_quote: Decimal,
        fee_base: Decimal = ZERO,
    ) -> LegOrder | None:
        """
        Book a fill of one of the pair's orders.

        Parameters
        ----------
        quantity, price : Decimal
            Filled base quantity and price (the order's quote currency).
        fee_quote : Decimal
            Commission valued in the quote currency (what the round trip's PnL counts).
        krw_per_quote : Decimal
            1 for a KRW leg; the FX rate at fill time for a USDT leg.
        fee_base : Decimal, default 0
            Commission taken in the base asset: the leg holds that much less than it traded.
        """
        order = self.working.get(client_order_id)
        if order is None:
            return None
        signed = quantity if order.side == "BUY" else -quantity
        leg = self.leg(order.venue)
        leg.apply(signed - fee_base, price)
        leg.fee_base += fee_base
        order.filled += quantity
        flow = (-price * quantity if order.side == "BUY" else price * quantity) - fee_quote
        self.trip_flow_krw += flow * krw_per_quote
        return order

    def forget_closed_orders(self) -> None:
        self.working = {k: v for k, v in self.working.items() if not v.closed}

    # -- persistence --------------------------------------------------------------------------------------
    def snapshot(self, ts: int, last_order_id: str | None = None) -> PairSnapshot:
        """The pair's state at ``ts``; ``last_order_id``: the strategy's newest client order id then."""
        legs = tuple(
            LegFill(
                instrument_id=leg.instrument_id,
                side="BUY" if leg.quantity > 0 else "SELL",
                quantity=str(abs(leg.quantity)),
                avg_px=str(leg.avg_px),
                fee_base=str(leg.fee_base),
            )
            for leg in (self.binance, self.upbit)
            if leg.quantity != 0 or leg.fee_base != 0
        )
        return PairSnapshot(
            symbol=self.symbol,
            status=self.status,
            ts_event=ts,
            direction=self.direction,
            quantity=str(self.hedged),
            entry_edge_bps=None if self.entry_edge_bps is None else str(self.entry_edge_bps),
            entry_ts=self.entry_ts,
            legs=legs,
            working_orders=tuple(o.snapshot() for o in self.working.values() if not o.closed),
            realized_pnl_krw=str(self.realized_pnl_krw),
            round_trips=self.round_trips,
            target_qty=str(self.target_qty),
            trip_flow_krw=str(self.trip_flow_krw),
            retries=self.retries,
            last_order_id=last_order_id,
        )

    def restore(self, snap: PairSnapshot) -> list[WorkingOrder]:
        """Take the state of ``snap``; return its working orders for the caller to look up."""
        if snap.symbol != self.symbol:
            raise ValueError(f"snapshot of {snap.symbol!r} given to pair {self.symbol!r}")
        self.status = snap.status
        self.direction = snap.direction
        self.target_qty = Decimal(snap.target_qty)
        self.entry_edge_bps = None if snap.entry_edge_bps is None else Decimal(snap.entry_edge_bps)
        self.entry_ts = snap.entry_ts
        self.realized_pnl_krw = Decimal(snap.realized_pnl_krw)
        self.round_trips = snap.round_trips
        self.trip_flow_krw = Decimal(snap.trip_flow_krw)
        self.retries = snap.retries
        for leg in (self.binance, self.upbit):
            leg.quantity, leg.avg_px, leg.fee_base = ZERO, ZERO, ZERO
        for fill in snap.legs:
            venue = self.binance if fill.instrument_id == self.binance.instrument_id else self.upbit
            if fill.instrument_id != venue.instrument_id:
                raise ValueError(f"snapshot leg {fill.instrument_id} is not part of pair {self.symbol}")
            qty = Decimal(fill.quantity)
            venue.quantity = qty if fill.side == "BUY" else -qty
            venue.avg_px = Decimal(fill.avg_px)
            venue.fee_base = Decimal(fill.fee_base)  # "0" in snapshots written before it was kept
        self.working = {}
        return list(snap.working_orders)
