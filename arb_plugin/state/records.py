"""
What the StateStore writes: key values for Redis and snapshot rows for PostgreSQL.

Every value is a JSON document (bytes, encoded once by the writer). A key value can also be kept as a
row; the row's table and ``kind`` follow from the key's domain and field (:func:`row_target`), so a key
can always be read back from PostgreSQL when Redis does not have it.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import NamedTuple

from arb_plugin.state.keys import Domain


class SnapshotTable(StrEnum):
    """The four snapshot tables (``migrations/0001_state_tables.sql``)."""

    SESSION = "session_snapshots"
    POSITION = "position_snapshots"
    METRICS = "metrics_snapshots"
    RISK_GUARD = "risk_guard_snapshots"


ROW_COLUMNS: tuple[str, ...] = ("session_id", "created_at", "ts_event", "symbol", "kind", "data")


class KeyWrite(NamedTuple):
    """
    One key value to write.

    Parameters
    ----------
    domain, symbol, field
        The key's parts (see :class:`arb_plugin.state.keys.KeyBuilder`).
    payload : bytes
        The JSON value.
    durable : bool
        Also keep it as a PostgreSQL row (history), whether Redis is reachable or not. Values that are
        not durable reach PostgreSQL only while Redis is unreachable.
    ttl_secs : int, optional
        Shorter TTL than the domain's (a cooldown's remaining time); never longer.
    ts_event : int, optional
        NautilusTrader time of the event behind the value (simulated time in a backtest).
    """

    domain: Domain
    symbol: str | None
    field: str | None
    payload: bytes
    durable: bool = False
    ttl_secs: int | None = None
    ts_event: int | None = None


class SnapshotRow(NamedTuple):
    """One row for a snapshot table (``data`` is JSON bytes; ``created_at`` is wall-clock seconds)."""

    table: SnapshotTable
    symbol: str | None
    kind: str
    data: bytes
    ts_event: int | None
    created_at: float


def row_target(domain: Domain, symbol: str | None, field: str | None) -> tuple[SnapshotTable, str]:
    """Return ``(table, kind)`` where the value of key ``domain/symbol/field`` is kept as a row."""
    kind = domain.value if field is None else f"{domain.value}.{field}"
    if domain in (Domain.SNAPSHOT,) or (domain is Domain.STATE and symbol is not None):
        return SnapshotTable.POSITION, kind
    if domain in (Domain.METRICS, Domain.WS):
        return SnapshotTable.METRICS, kind
    if domain in (Domain.GUARD, Domain.COOLDOWN):
        return SnapshotTable.RISK_GUARD, kind
    return SnapshotTable.SESSION, kind  # PORTFOLIO, session-wide STATE


def row_for(write: KeyWrite, created_at: float | None = None) -> SnapshotRow:
    """The snapshot row that keeps ``write``."""
    table, kind = row_target(write.domain, write.symbol, write.field)
    return SnapshotRow(
        table=table,
        symbol=write.symbol,
        kind=kind,
        data=write.payload,
        ts_event=write.ts_event,
        created_at=time.time() if created_at is None else created_at,
    )


def event_row(
    table: SnapshotTable,
    kind: str,
    data: bytes,
    symbol: str | None = None,
    ts_event: int | None = None,
) -> SnapshotRow:
    """A snapshot row for an event that has no key (a fill, a closed pair, a position event)."""
    return SnapshotRow(table, symbol, kind, data, ts_event, time.time())
