"""
Guard state a restart must keep, and the interface the StateStore implements to keep it.

Two domains of the documented keyspace hold it:

- ``GUARD`` (TTL 7200 s): one :class:`GlobalGuardState` (symbol ``None``) and one :class:`SymbolGuardState`
  per symbol: trading day, daily PnL, equity and its peak, the halted flag, cooldown expiries. The StateStore
  also appends these to PostgreSQL ``risk_guard_snapshots``.
- ``COOLDOWN`` (TTL 3600 s): one :class:`CooldownState` per running cooldown (symbol ``None`` for the global
  ``COOLDOWN``), so a cooldown is visible on its own and disappears when it expires.

Payloads are JSON-able dicts (decimals as strings, times as UNIX nanoseconds). ``save`` is called on the
trading thread and must not block: a real store queues the write (the StateBridge flushes in batches).
``load`` is called once, before the node starts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from decimal import InvalidOperation
from enum import StrEnum
from typing import Any
from typing import Protocol
from typing import runtime_checkable

import msgspec


class GuardDomain(StrEnum):
    """The keyspace domains guard state lives in (names as in the StateStore's ``Domain``)."""

    GUARD = "GUARD"
    COOLDOWN = "COOLDOWN"


@runtime_checkable
class GuardStateStore(Protocol):
    """
    Where guard state is saved and restored from.

    ``symbol`` is ``None`` for the global level. ``state`` is a JSON-able dict; ``load`` returns the latest
    state saved per symbol in that domain (an empty dict when there is none). A value the store cannot decode
    is returned as it is: the guard reports and skips it (it never stops start-up).
    """

    def save(self, domain: GuardDomain, symbol: str | None, state: dict[str, Any]) -> None: ...

    def load(self, domain: GuardDomain) -> dict[str | None, Any]: ...


class InMemoryGuardStateStore:
    """
    In-process :class:`GuardStateStore`: keeps each state as JSON text, as a real store would.

    Survives an engine (not a process) restart; used by tests and by backtests that need no persistence.
    ``snapshots`` records every ``GUARD`` save in order (what ``risk_guard_snapshots`` would hold).
    """

    def __init__(self) -> None:
        self._data: dict[tuple[GuardDomain, str | None], str] = {}
        self.snapshots: list[tuple[str | None, str]] = []

    def save(self, domain: GuardDomain, symbol: str | None, state: dict[str, Any]) -> None:
        text = json.dumps(state, sort_keys=True)
        self._data[(GuardDomain(domain), symbol)] = text
        if domain == GuardDomain.GUARD:
            self.snapshots.append((symbol, text))

    def load(self, domain: GuardDomain) -> dict[str | None, Any]:
        """Every state of ``domain``; a value that is not JSON is returned as its text (the caller rejects it)."""
        out: dict[str | None, Any] = {}
        for (d, symbol), text in self._data.items():
            if d == GuardDomain(domain):
                try:
                    out[symbol] = json.loads(text)
                except json.JSONDecodeError:
                    out[symbol] = text
        return out

    def put_raw(self, domain: GuardDomain, symbol: str | None, text: str) -> None:
        """Store ``text`` as is (tests use it to plant a corrupt value)."""
        self._data[(GuardDomain(domain), symbol)] = text

    def load_raw(self, domain: GuardDomain, symbol: str | None) -> str | None:
        return self._data.get((GuardDomain(domain), symbol))


# -- payloads ----------------------------------------------------------------------------------------------


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
    """The global level: ``GUARD`` domain, symbol ``None``."""

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
    """One symbol: ``GUARD`` domain, symbol key."""

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


class CooldownState(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One running cooldown: ``COOLDOWN`` domain (symbol ``None``: the global ``COOLDOWN``)."""

    guard: str  # "COOLDOWN" | "SYMBOL_COOLDOWN"
    until_ns: int
    cause: str
    version: int = 1

    def validate(self) -> CooldownState:
        return self


def to_dict(state: msgspec.Struct) -> dict[str, Any]:
    """A payload as a JSON-able dict."""
    result: dict[str, Any] = msgspec.to_builtins(state)
    return result


def parse_states(
    raw: Mapping[str | None, Any],
    global_type: type[Any],
    symbol_type: type[Any],
) -> tuple[dict[str | None, Any], list[str]]:
    """
    Validate loaded payloads (``global_type`` for symbol ``None``, ``symbol_type`` for the others).

    Returns the valid states and one message per payload that did not validate, naming its symbol: the
    caller logs them and goes on, so start-up never fails on a bad value and the good states still load.
    """
    out: dict[str | None, Any] = {}
    errors: list[str] = []
    for symbol, payload in raw.items():
        cls = global_type if symbol is None else symbol_type
        try:
            out[symbol] = msgspec.convert(payload, type=cls).validate()
        except (msgspec.ValidationError, ValueError, TypeError) as e:
            errors.append(f"{cls.__name__} for {symbol or '<global>'}: {e} (payload {payload!r:.200})")
    return out, errors
