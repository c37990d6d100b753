"""
Guard state a restart must keep, and how it travels: no store, only the message bus and the Cache.

The interface (one home: :mod:`arb_plugin.events`)
--------------------------------------------------
- **Save.** The gate publishes a :class:`~arb_plugin.events.GuardStateSnapshot` on ``GUARD_STATE_TOPIC``
  whenever the state changes (a trip, a cooldown, a new trading day, a halt lifted: at once; PnL moves: at
  most once a second on the engine's clock). ``state`` is a :class:`GlobalGuardState`, ``symbols`` one
  :class:`SymbolGuardState` per symbol that changed, ``cooldowns`` every running cooldown. Publishing is all
  the guard does: no I/O, the same in a backtest and live.
- **Restore.** Whoever keeps the state puts the JSON of the latest snapshot in the Cache under
  ``GUARD_RESUME_CACHE_KEY`` and publishes it on ``GUARD_RESUME_TOPIC``. The gate reads the Cache key when
  its engine starts and takes the message when it comes: NautilusTrader starts the RiskEngine *before* the
  Trader starts actors, and actors before strategies, so an actor that resumes state in its ``on_start``
  reaches the guard through the message, before any strategy can send an order.

The :class:`arb_plugin.state.bridge.StateBridge` is that keeper in paper, live and (optionally) backtest
nodes: it writes ``GUARD`` (global), ``GUARD:{symbol}`` and ``COOLDOWN[:{symbol}]`` keys plus
``risk_guard_snapshots`` rows, and resumes from Redis, else PostgreSQL. Without it (a plain backtest, ``make
demo``) nothing listens and the state lives in the gate for the run; tests carry it between engines in
process by seeding the next engine's Cache.

Payloads are JSON-able dicts (decimals as strings, times as UNIX nanoseconds), validated on restore: a payload
that does not validate is reported, naming its scope, and skipped; start-up never fails on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

import msgspec

from arb_plugin.events import GUARD_GLOBAL_SCOPE
from arb_plugin.events import GuardStateSnapshot


def _decimal(value: str, name: str) -> Decimal:
    try:
        result = Decimal(value)
    except (InvalidOperation, TypeError) as e:
        raise ValueError(f"{name}={value!r} is not a decimal string") from e
    if not result.is_finite():
        raise ValueError(f"{name}={value!r} is not finite")
    return result


_HALT_GUARDS = frozenset({"MAX_DAILY_LOSS", "MAX_DRAWDOWN"})


class GlobalGuardState(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The global level: ``GuardStateSnapshot.state`` (the ``GUARD`` key without a symbol)."""

    ts_event: int
    currency: str
    trading_day: str
    daily_pnl: str
    equity: str
    peak_equity: str
    halted: bool = False
    halt_guard: str | None = None
    halt_reason: str = ""
    cooldown_until_ns: int = 0
    cooldown_cause: str = ""
    version: int = 1

    def validate(self) -> GlobalGuardState:
        for name in ("daily_pnl", "equity", "peak_equity"):
            _decimal(getattr(self, name), name)
        if self.halt_guard is not None and self.halt_guard not in _HALT_GUARDS:
            raise ValueError(f"halt_guard={self.halt_guard!r}: must be one of {sorted(_HALT_GUARDS)}")
        return self


class SymbolGuardState(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One symbol: ``GuardStateSnapshot.symbols[symbol]`` (the ``GUARD:{symbol}`` key)."""

    ts_event: int
    trading_day: str
    daily_pnl: str
    blocked_reason: str | None = None
    cooldown_until_ns: int = 0
    cooldown_cause: str = ""
    version: int = 1

    def validate(self) -> SymbolGuardState:
        _decimal(self.daily_pnl, "daily_pnl")
        return self


def to_dict(state: msgspec.Struct) -> dict[str, Any]:
    """A payload as a JSON-able dict."""
    result: dict[str, Any] = msgspec.to_builtins(state)
    return result


@dataclass
class RestoredState:
    """What a :class:`GuardStateSnapshot` holds, validated: the parts that did not validate are in ``errors``."""

    global_state: GlobalGuardState | None = None
    symbols: dict[str, SymbolGuardState] = field(default_factory=dict)
    cooldowns: dict[str | None, int] = field(default_factory=dict)  # scope (None: global) -> expiry ns
    errors: list[str] = field(default_factory=list)


def _convert(payload: Any, cls: type[Any], scope: str) -> tuple[Any, str | None]:
    try:
        return msgspec.convert(payload, type=cls).validate(), None
    except (msgspec.ValidationError, ValueError, TypeError) as e:
        return None, f"{cls.__name__} for {scope}: {e} (payload {payload!r:.200})"


def parse_snapshot(snapshot: GuardStateSnapshot) -> RestoredState:
    """
    Validate a snapshot to resume from.

    An empty ``state`` means no global state was kept (only symbols); any other payload that does not
    validate is reported in ``errors`` (naming its scope and showing the payload) and left out, so the good
    parts still load.
    """
    out = RestoredState()
    if snapshot.state:
        out.global_state, error = _convert(snapshot.state, GlobalGuardState, "<global>")
        if error is not None:
            out.errors.append(error)
    for symbol, payload in snapshot.symbols.items():
        state, error = _convert(payload, SymbolGuardState, symbol)
        if error is not None:
            out.errors.append(error)
        else:
            out.symbols[symbol] = state
    for scope, until_ns in snapshot.cooldowns.items():
        out.cooldowns[None if scope == GUARD_GLOBAL_SCOPE else scope] = until_ns
    return out


def decode_snapshot(data: bytes | str) -> GuardStateSnapshot:
    """
    Decode the JSON of a :class:`GuardStateSnapshot` (the ``GUARD_RESUME_CACHE_KEY`` value).

    Raises
    ------
    ValueError
        If ``data`` is not one (the message says why).
    """
    try:
        return GuardStateSnapshot.from_json(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise ValueError(f"not a GuardStateSnapshot: {e} (value {data!r:.200})") from None


def cooldown_scopes(cooldowns: Mapping[str | None, int], now_ns: int) -> dict[str, int]:
    """The running cooldowns (expiry after ``now_ns``) as ``GuardStateSnapshot.cooldowns``."""
    return {
        GUARD_GLOBAL_SCOPE if scope is None else scope: until
        for scope, until in cooldowns.items()
        if until > now_ns
    }
