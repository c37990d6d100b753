"""
Retention: delete rows of stopped or crashed sessions older than a limit (default 30 days).

A row is deleted only when it is older than the limit **and** its session is not active: an active
session's rows are never touched, however old. Sessions whose heartbeat expired are marked crashed first.
Session records themselves go once they ended before the limit. A dry run does the same work in a
transaction that is rolled back, so its counts are exactly what a real run would delete.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING

from arb_plugin.errors import ArbPluginError
from arb_plugin.state.records import SnapshotTable
from arb_plugin.state.sessions import mark_expired_crashed

if TYPE_CHECKING:
    import asyncpg


RETAINED_TABLES: tuple[str, ...] = (*(t.value for t in SnapshotTable), "system_logs")

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> dt.timedelta:
    """Parse ``30d``, ``12h``, ``90m``, ``45s`` or ``2w``; raise :class:`ArbPluginError` naming the value."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) <= 0:
        raise ArbPluginError(
            f"duration {text!r} is not valid: use a positive whole number and a unit s, m, h, d or w (e.g. 30d)",
        )
    return dt.timedelta(seconds=int(match.group(1)) * _UNIT_SECS[match.group(2)])


@dataclass
class CleanupReport:
    cutoff: dt.datetime
    dry_run: bool
    marked_crashed: list[str] = field(default_factory=list)
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


class _Rollback(Exception):
    pass


async def cleanup(
    conn: asyncpg.Connection,
    older_than: dt.timedelta,
    heartbeat_timeout_secs: float,
    dry_run: bool = False,
) -> CleanupReport:
    """Delete old rows of sessions that are not active (see module docstring)."""
    cutoff = await conn.fetchval("SELECT now() - $1::interval", older_than)
    report = CleanupReport(cutoff=cutoff, dry_run=dry_run)
    try:
        async with conn.transaction():
            report.marked_crashed = await mark_expired_crashed(conn, heartbeat_timeout_secs)
            for table in RETAINED_TABLES:
                deleted = await conn.fetchval(
                    f"""
                    WITH gone AS (
                        DELETE FROM {table} t
                        WHERE t.created_at < $1
                          AND NOT EXISTS (
                              SELECT 1 FROM sessions s
                              WHERE s.session_id = t.session_id AND s.status = 'active'
                          )
                        RETURNING 1
                    )
                    SELECT count(*) FROM gone
                    """,
                    cutoff,
                )
                report.deleted[table] = int(deleted)
            sessions = await conn.fetchval(
                """
                WITH gone AS (
                    DELETE FROM sessions
                    WHERE status IN ('stopped', 'crashed') AND coalesce(stopped_at, heartbeat_at) < $1
                    RETURNING 1
                )
                SELECT count(*) FROM gone
                """,
                cutoff,
            )
            report.deleted["sessions"] = int(sessions)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return report
