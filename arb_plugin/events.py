"""
Messages between the strategy, the risk guard and the state bridge (one home for every topic and tag).

The strategy publishes on the NautilusTrader message bus; the risk guard and the state bridge subscribe.
Nothing here does I/O. Payloads are frozen msgspec structs with exact decimal strings, so they round-trip
through JSON (Redis, PostgreSQL JSONB) without float.

Order intent
------------
Every order the strategy submits carries two tags: ``intent=<entry|exit|unwind|rehedge>`` and
``pair=<symbol>``. Risk rules read them: ``entry`` adds exposure; ``exit``, ``unwind`` and ``rehedge``
reduce exposure (a re-hedge completes a half-filled pair, reducing the unhedged notional) and are never
blocked by a guard.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

# -- message bus topics -----------------------------------------------------------------------------------
PAIR_STATE_TOPIC = "arb.pairs.state"  # PairSnapshot, on every pair state transition
PAIR_CLOSED_TOPIC = "arb.pairs.closed"  # PairClosed, when a pair's round trip ends
LEG_RISK_TOPIC = "arb.pairs.leg_risk"  # LegRiskAlert, whenever a pair is (or was) unhedged
FLATTEN_TOPIC = "arb.commands.flatten"  # FlattenRequest: the strategy exits every open pair
DECISION_TOPIC = "arb.strategy.decision"  # DecisionLatency samples (quote receipt -> decision)
GUARD_TRIGGER_TOPIC = "arb.risk.guard_triggered"  # GuardTriggered: every risk guard denial, trip or release

GUARD_STATE_TOPIC = "arb.risk.guard_state"  # GuardStateSnapshot, whenever the risk guard's state changes
GUARD_RESUME_TOPIC = "arb.risk.guard_resume"  # GuardStateSnapshot to resume from (after it is in the Cache)

# -- cache keys (NautilusTrader Cache generic key/value store) --------------------------------------------
RESUME_CACHE_KEY = "arb.resume.{symbol}"  # JSON of a PairSnapshot to resume from, put there before start
GUARD_RESUME_CACHE_KEY = "arb.resume.guard"  # JSON of a GuardStateSnapshot to resume from, put there before start
# UNIX ns (decimal text) when the resumed session first started: a pair with no snapshot adopts the strategy's
# orders issued since then (its first state never reached the store)
SESSION_START_CACHE_KEY = "arb.resume.session_started_ns"


class PairStatus(StrEnum):
    """Lifecycle of one arbitrage pair."""

    FLAT = "FLAT"
    ENTERING = "ENTERING"
    OPEN = "OPEN"
    EXITING = "EXITING"


class Direction(StrEnum):
    """Which venue buys: ``BUY_BINANCE`` sells on Upbit (premium high), ``BUY_UPBIT`` the reverse."""

    BUY_BINANCE = "BUY_BINANCE"
    BUY_UPBIT = "BUY_UPBIT"


class OrderIntent(StrEnum):
    """Why an order was sent (its ``intent=`` tag)."""

    ENTRY = "entry"
    EXIT = "exit"
    UNWIND = "unwind"
    REHEDGE = "rehedge"

    @property
    def reduces_exposure(self) -> bool:
        """Every intent but ``entry`` reduces exposure and must never be blocked by a guard."""
        return self is not OrderIntent.ENTRY


def order_tags(intent: OrderIntent, symbol: str) -> list[str]:
    """Return the tags the strategy puts on an order."""
    return [f"intent={intent.value}", f"pair={symbol}"]


def parse_order_tags(tags: list[str] | None) -> tuple[OrderIntent | None, str | None]:
    """Return ``(intent, pair symbol)`` from an order's tags; ``None`` where a tag is absent."""
    intent: OrderIntent | None = None
    symbol: str | None = None
    for tag in tags or ():
        key, _, value = tag.partition("=")
        if key == "intent":
            try:
                intent = OrderIntent(value)
            except ValueError:
                intent = None
        elif key == "pair":
            symbol = value
    return intent, symbol


class LegFill(msgspec.Struct, frozen=True):
    """Net filled quantity and average price of one pair's position on one venue."""

    instrument_id: str
    side: str  # "BUY" | "SELL": the side of the entry on this venue
    quantity: str  # decimal string, base units
    avg_px: str  # decimal string, quote currency
    fee_base: str = "0"  # base asset paid in commissions in the current phase (VenueLeg.fee_base)


class WorkingOrder(msgspec.Struct, frozen=True):
    """An order of the pair still in flight, with what of it was already booked into the legs."""

    client_order_id: str
    instrument_id: str
    side: str  # "BUY" | "SELL"
    quantity: str
    filled: str  # already counted in the pair's legs
    intent: OrderIntent


class PairSnapshot(msgspec.Struct, frozen=True):
    """
    Everything needed to resume one pair after a restart.

    ``working_orders`` are the orders still in flight (none when FLAT or OPEN): on resume they are looked up
    in NautilusTrader's reconciled cache, never re-sent; fills beyond ``filled`` are booked, and one still
    open is cancelled before the pair is re-evaluated.

    ``last_order_id`` is the newest client order id the strategy had issued when the snapshot was taken. An
    order of the strategy on the pair's instruments issued after it was sent after this state was written (a
    crash before the next state reached the store): on resume it is adopted into the pair (see
    ``ArbitrageStrategy``), never ignored. ``None`` in snapshots written before it was kept.
    """

    symbol: str
    status: PairStatus
    ts_event: int
    direction: Direction | None = None
    quantity: str = "0"  # hedged quantity held (base units)
    entry_edge_bps: str | None = None
    entry_ts: int | None = None
    legs: tuple[LegFill, ...] = ()
    working_orders: tuple[WorkingOrder, ...] = ()
    realized_pnl_krw: str = "0"  # cumulative over the session, FX at fill time
    round_trips: int = 0
    target_qty: str = "0"  # hedged quantity the current entry aims for
    trip_flow_krw: str = "0"  # cash flow of the current round trip so far (KRW, FX at fill time)
    retries: int = 0  # re-hedge / exit retries in the current phase
    last_order_id: str | None = None  # the strategy's newest client order id at the time (all pairs)

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> PairSnapshot:
        """Decode and validate; raises ``msgspec.ValidationError``/``DecodeError`` on a bad payload."""
        return msgspec.json.decode(data, type=cls)


class PairClosed(msgspec.Struct, frozen=True):
    """A pair's round trip ended (exit, unwind or forced flatten)."""

    symbol: str
    direction: Direction
    quantity: str
    pnl_krw: str  # net of fees, FX at fill time
    reason: str  # "converged" | "max_holding" | "unwound" | "flatten" | "adopted" (an exit sent before a restart)
    ts_event: int


class LegRiskAlert(msgspec.Struct, frozen=True):
    """A pair became unhedged, or an unwind / re-hedge could not restore the hedge."""

    symbol: str
    stage: str  # "detected" | "rehedging" | "unwinding" | "resolved" | "failed"
    unhedged_qty: str  # signed: + means long base across venues
    detail: str
    ts_event: int


class FlattenRequest(msgspec.Struct, frozen=True):
    """Ask the strategy to exit every open pair (e.g. a guard halted trading)."""

    reason: str
    ts_event: int


GUARD_GLOBAL_SCOPE = "GLOBAL"  # the global level's scope in GuardStateSnapshot.cooldowns


class GuardStateSnapshot(msgspec.Struct, frozen=True, omit_defaults=True):
    """
    The risk guard's state, persisted by the state bridge (GUARD and COOLDOWN domains) and restored on resume.

    ``state`` is the guard's own JSON-able dict of the global level (daily PnL, peak equity, trading day,
    halted flag; money as decimal strings); ``symbols`` holds one such dict per symbol, only for the symbols
    whose state changed since the previous snapshot (a reader keeps the latest per symbol); ``cooldowns``
    maps the scope of every running cooldown (``GUARD_GLOBAL_SCOPE`` or a symbol) to its expiry in ns on the
    guard's clock. Expired cooldowns are the reader's to drop.
    """

    state: dict[str, Any]
    cooldowns: dict[str, int]
    ts_event: int
    symbols: dict[str, dict[str, Any]] = {}

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> GuardStateSnapshot:
        """Decode and validate; raises ``msgspec.ValidationError``/``DecodeError`` on a bad payload."""
        return msgspec.json.decode(data, type=cls)


class DecisionLatency(msgspec.Struct, frozen=True):
    """One quote-to-decision sample (ns between the quote's ``ts_init`` and the strategy's decision)."""

    symbol: str
    latency_ns: int
    ts_event: int


class GuardTriggered(msgspec.Struct, frozen=True):
    """
    A risk guard acted: denied an order (``deny``), halted trading (``halt``), blocked a symbol for the day
    (``block``), started a cooldown (``cooldown``) or lifted a halt (``resume``).
    """

    guard: str  # the guard's name, e.g. "MAX_SYMBOL_POSITION"
    action: str  # "deny" | "halt" | "block" | "cooldown" | "resume"
    symbol: str | None  # None: the global level
    reason: str
    ts_event: int
    client_order_id: str | None = None
