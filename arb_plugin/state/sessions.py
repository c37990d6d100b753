"""
Session lifecycle in PostgreSQL (table ``sessions``): active -> stopped, or -> crashed.

A running session refreshes ``heartbeat_at`` (wall clock). A session still marked active whose heartbeat
is older than the timeout died without stopping: the next start (of any session) or ``arb db cleanup``
marks it crashed. Starting with an existing session id resumes it; starting a session that is active
with a fresh heartbeat is refused (another process runs it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING

import msgspec

from arb_plugin.errors import ArbPluginError

if TYPE_CHECKING:
    import asyncpg


class SessionStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"
    CRASHED = "crashed"


class SessionError(ArbPluginError):
    """A session cannot be started or resumed."""


class SessionActiveError(SessionError):
    """The session is active with a fresh heartbeat: another process runs it, or its process just died."""

    def __init__(self, message: str, silent_secs: float) -> None:
        super().__init__(message)
        self.silent_secs = silent_secs


class SessionInfo(msgspec.Struct, frozen=True):
    """SESSION metadata: one row of ``sessions``."""

    session_id: str
    env: str
    mode: str
    config_hash: str | None
    status: SessionStatus
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    starts: int = 1
    resumed_at: dt.datetime | None = None
    stopped_at: dt.datetime | None = None
    previous_status: SessionStatus | None = None  # set when this start resumed an existing session
    previous_heartbeat_at: dt.datetime | None = None  # the resumed session's last heartbeat before this start

    @property
    def resumed(self) -> bool:
        return self.previous_status is not None

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)


_COLUMNS = "session_id, env, mode, config_hash, status, started_at, heartbeat_at, starts, resumed_at, stopped_at"


def new_session_id(now: dt.datetime | None = None) -> str:
    """A fresh, sortable session id, e.g. ``s20250101T093000-1a2b3c``."""
    now = now or dt.datetime.now(dt.UTC)
    return f"s{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _info(
    row: asyncpg.Record,
    previous: SessionStatus | None = None,
    previous_heartbeat_at: dt.datetime | None = None,
) -> SessionInfo:
    return SessionInfo(
        session_id=row["session_id"],
        env=row["env"],
        mode=row["mode"],
        config_hash=row["config_hash"],
        status=SessionStatus(row["status"]),
        started_at=row["started_at"],
        heartbeat_at=row["heartbeat_at"],
        starts=row["starts"],
        resumed_at=row["resumed_at"],
        stopped_at=row["stopped_at"],
        previous_status=previous,
        previous_heartbeat_at=previous_heartbeat_at,
    )


async def mark_expired_crashed(conn: asyncpg.Connection, timeout_secs: float) -> list[str]:
    """Mark every active session whose heartbeat is older than ``timeout_secs`` crashed; return their ids."""
    rows = await conn.fetch(
        """
        UPDATE sessions SET status = 'crashed'
        WHERE status = 'active' AND heartbeat_at < now() - make_interval(secs => $1)
        RETURNING session_id
        """,
        float(timeout_secs),
    )
    return [r["session_id"] for r in rows]


async def start_session(
    conn: asyncpg.Connection,
    session_id: str,
    env: str,
    mode: str,
    config_hash: str | None,
    timeout_secs: float,
) -> SessionInfo:
    """
    Start a new session or resume an existing one (marking expired sessions crashed first).

    Raises
    ------
    SessionError
        If the session is active with a fresh heartbeat, or belongs to another environment.
    """
    async with conn.transaction():
        await mark_expired_crashed(conn, timeout_secs)
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS}, extract(epoch FROM now() - heartbeat_at) AS silent_secs "
            "FROM sessions WHERE session_id = $1 FOR UPDATE",
            session_id,
        )
        if row is None:
            row = await conn.fetchrow(
                f"""
                INSERT INTO sessions (session_id, env, mode, config_hash, status)
                VALUES ($1, $2, $3, $4, 'active') RETURNING {_COLUMNS}
                """,
                session_id,
                env,
                mode,
                config_hash,
            )
            return _info(row)
        if row["env"] != env:
            raise SessionError(f"session {session_id!r} belongs to env {row['env']!r}, not {env!r}")
        previous = SessionStatus(row["status"])
        last_heartbeat = row["heartbeat_at"]
        if previous is SessionStatus.ACTIVE:
            raise SessionActiveError(
                f"session {session_id!r} is active in another process (heartbeat "
                f"{float(row['silent_secs']):.1f} s ago, timeout {timeout_secs} s); stop it first",
                float(row["silent_secs"]),
            )
        row = await conn.fetchrow(
            f"""
            UPDATE sessions SET status = 'active', mode = $2, config_hash = $3, resumed_at = now(),
                heartbeat_at = now(), stopped_at = NULL, starts = starts + 1
            WHERE session_id = $1 RETURNING {_COLUMNS}
            """,
            session_id,
            mode,
            config_hash,
        )
        return _info(row, previous, last_heartbeat)


async def heartbeat(conn: asyncpg.Connection, session_id: str, starts: int | None = None) -> bool:
    """
    Refresh the heartbeat of the session's ``starts``-th start (any start when ``None``).

    ``False`` when this start no longer owns the session: it was marked crashed (its heartbeat lapsed), or
    another process has resumed it since (``starts`` moved on). The caller must then stop trading it.
    """
    result = await conn.execute(
        "UPDATE sessions SET heartbeat_at = now() "
        "WHERE session_id = $1 AND status = 'active' AND ($2::int IS NULL OR starts = $2)",
        session_id,
        starts,
    )
    return result.endswith(" 1")


async def stop_session(
    conn: asyncpg.Connection,
    session_id: str,
    status: SessionStatus = SessionStatus.STOPPED,
    starts: int | None = None,
) -> bool:
    """
    Mark the session stopped (or crashed): only if the ``starts``-th start still owns it (any when ``None``).

    Return whether it was marked; ``False`` when another process has resumed the session since.
    """
    result = await conn.execute(
        "UPDATE sessions SET status = $2, stopped_at = now(), heartbeat_at = now() "
        "WHERE session_id = $1 AND ($3::int IS NULL OR starts = $3)",
        session_id,
        status.value,
        starts,
    )
    return result.endswith(" 1")


async def get_session(conn: asyncpg.Connection, session_id: str) -> SessionInfo | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM sessions WHERE session_id = $1", session_id)
    return None if row is None else _info(row)
