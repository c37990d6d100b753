"""
Decoding what we read back: a value under our keys or in a snapshot row may be corrupt or foreign.

Each decoder returns the typed value or raises :class:`InvalidStateValue` saying what is wrong; readers
report it with the key or row and skip the value (they never crash, and never write it anywhere).
"""

from __future__ import annotations

from decimal import Decimal
from decimal import InvalidOperation

import msgspec

from arb_plugin.events import GuardStateSnapshot
from arb_plugin.events import PairSnapshot


class InvalidStateValue(ValueError):
    """A stored value does not decode into what its key or row holds."""


def _decimal(name: str, value: str) -> None:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        raise InvalidStateValue(f"{name}={value!r} is not a decimal string") from None
    if not number.is_finite():
        raise InvalidStateValue(f"{name}={value!r} is not a finite decimal")


def decode_pair_snapshot(data: bytes | str) -> PairSnapshot:
    """Decode a PairSnapshot and check every decimal string in it."""
    try:
        snapshot = PairSnapshot.from_json(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise InvalidStateValue(f"not a PairSnapshot: {e}") from None
    for name in ("quantity", "realized_pnl_krw", "target_qty", "trip_flow_krw"):
        _decimal(name, getattr(snapshot, name))
    if snapshot.entry_edge_bps is not None:
        _decimal("entry_edge_bps", snapshot.entry_edge_bps)
    for i, leg in enumerate(snapshot.legs):
        _decimal(f"legs[{i}].quantity", leg.quantity)
        _decimal(f"legs[{i}].avg_px", leg.avg_px)
        if leg.side not in ("BUY", "SELL"):
            raise InvalidStateValue(f"legs[{i}].side={leg.side!r} is not BUY or SELL")
    for i, order in enumerate(snapshot.working_orders):
        _decimal(f"working_orders[{i}].quantity", order.quantity)
        _decimal(f"working_orders[{i}].filled", order.filled)
    if snapshot.round_trips < 0:
        raise InvalidStateValue(f"round_trips={snapshot.round_trips} is negative")
    return snapshot


def decode_guard_state(data: bytes | str) -> GuardStateSnapshot:
    """Decode a GuardStateSnapshot."""
    try:
        return GuardStateSnapshot.from_json(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise InvalidStateValue(f"not a GuardStateSnapshot: {e}") from None


_json_object = msgspec.json.Decoder(dict)


def decode_json_object(data: bytes | str) -> dict:
    """Decode any JSON object (PORTFOLIO, STATE position, session metadata)."""
    try:
        return _json_object.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise InvalidStateValue(f"not a JSON object: {e}") from None
