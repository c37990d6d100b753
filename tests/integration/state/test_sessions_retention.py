"""Sessions (heartbeat, crash detection, resume) and retention (`arb db cleanup`) on the real PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

import arb_plugin.cli as cli
from arb_plugin.state.sessions import SessionError
from arb_plugin.state.sessions import SessionStatus
from arb_plugin.state.sessions import get_session
from arb_plugin.state.sessions import heartbeat
from arb_plugin.state.sessions import start_session
from arb_plugin.state.sessions import stop_session

from .conftest import pg_fetch

pytestmark = pytest.mark.integration


def _run(dsn: str, schema: str, fn):
    async def go():
        conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
        try:
            return await fn(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


def _age_heartbeat(dsn: str, schema: str, session_id: str, secs: int) -> None:
    pg_fetch(
        dsn,
        schema,
        "UPDATE sessions SET heartbeat_at = now() - make_interval(secs => $2) WHERE session_id = $1",
        session_id,
        float(secs),
    )


def test_session_lifecycle_heartbeat_crash_and_resume(schema: str, pg_dsn: str, unique_id: str) -> None:
    a, b = f"{unique_id}-a", f"{unique_id}-b"
    info = _run(pg_dsn, schema, lambda c: start_session(c, a, "dev", "backtest", "h1", 30))
    assert (info.status, info.starts, info.resumed) == (SessionStatus.ACTIVE, 1, False)

    # A second process may not take over a live session.
    with pytest.raises(SessionError, match="active in another process"):
        _run(pg_dsn, schema, lambda c: start_session(c, a, "dev", "backtest", "h1", 30))

    before = _run(pg_dsn, schema, lambda c: get_session(c, a)).heartbeat_at
    assert _run(pg_dsn, schema, lambda c: heartbeat(c, a)) is True
    assert _run(pg_dsn, schema, lambda c: get_session(c, a)).heartbeat_at > before

    # The process dies: its heartbeat expires; the next start (of another session) marks it crashed.
    _age_heartbeat(pg_dsn, schema, a, 31)
    _run(pg_dsn, schema, lambda c: start_session(c, b, "dev", "paper", None, 30))
    assert _run(pg_dsn, schema, lambda c: get_session(c, a)).status is SessionStatus.CRASHED
    assert _run(pg_dsn, schema, lambda c: heartbeat(c, a)) is False  # no longer active

    # Restarting with the same id resumes it.
    resumed = _run(pg_dsn, schema, lambda c: start_session(c, a, "dev", "backtest", "h2", 30))
    assert (resumed.status, resumed.starts, resumed.previous_status, resumed.config_hash) == (
        SessionStatus.ACTIVE,
        2,
        SessionStatus.CRASHED,
        "h2",
    )
    assert resumed.started_at == info.started_at and resumed.resumed_at is not None

    _run(pg_dsn, schema, lambda c: stop_session(c, a))
    stopped = _run(pg_dsn, schema, lambda c: get_session(c, a))
    assert stopped.status is SessionStatus.STOPPED and stopped.stopped_at is not None

    with pytest.raises(SessionError, match="belongs to env 'dev'"):
        _run(pg_dsn, schema, lambda c: start_session(c, a, "prod", "live", None, 30))


def test_only_the_start_that_owns_a_session_keeps_it(schema: str, pg_dsn: str, unique_id: str) -> None:
    # Process A stalls past the timeout; process B resumes the session. A must learn it lost it, and
    # A's stop must not mark B's session stopped.
    sid = f"{unique_id}-owned"
    first = _run(pg_dsn, schema, lambda c: start_session(c, sid, "dev", "live", None, 30))
    _age_heartbeat(pg_dsn, schema, sid, 31)
    second = _run(pg_dsn, schema, lambda c: start_session(c, sid, "dev", "live", None, 30))
    assert (first.starts, second.starts) == (1, 2)

    assert _run(pg_dsn, schema, lambda c: heartbeat(c, sid, first.starts)) is False  # A: stop trading
    assert _run(pg_dsn, schema, lambda c: heartbeat(c, sid, second.starts)) is True
    assert _run(pg_dsn, schema, lambda c: stop_session(c, sid, SessionStatus.STOPPED, first.starts)) is False
    assert _run(pg_dsn, schema, lambda c: get_session(c, sid)).status is SessionStatus.ACTIVE  # B's, untouched
    assert _run(pg_dsn, schema, lambda c: stop_session(c, sid, SessionStatus.STOPPED, second.starts)) is True
    assert _run(pg_dsn, schema, lambda c: get_session(c, sid)).status is SessionStatus.STOPPED


def _seed_retention(dsn: str, schema: str, uid: str) -> dict[str, str]:
    ids = {
        "active": f"{uid}-active",
        "stopped": f"{uid}-stopped",
        "crashed": f"{uid}-crashed",
        "expired": f"{uid}-expired",
    }

    async def go(conn: asyncpg.Connection) -> None:
        for sid in ids.values():
            await start_session(conn, sid, "dev", "live", None, 30)
        await stop_session(conn, ids["stopped"])
        await stop_session(conn, ids["crashed"], SessionStatus.CRASHED)
        # An active session whose process died 40 days ago: cleanup marks it crashed, then it is fair game.
        await conn.execute(
            "UPDATE sessions SET heartbeat_at = now() - interval '40 days' WHERE session_id = $1",
            ids["expired"],
        )
        for table in ("session_snapshots", "position_snapshots", "metrics_snapshots", "risk_guard_snapshots"):
            for sid in ids.values():
                for age in ("45 days", "31 days", "29 days", "1 hour"):
                    await conn.execute(
                        f"INSERT INTO {table} (session_id, created_at, symbol, kind, data) "
                        f"VALUES ($1, now() - interval '{age}', 'BTCUSDT', 'test', $2)",
                        sid,
                        b'{"age": "' + age.encode() + b'"}',
                    )
        for sid in ids.values():
            await conn.execute(
                "INSERT INTO system_logs (session_id, created_at, level, category, message) "
                "VALUES ($1, now() - interval '60 days', 'WARNING', 'SYSTEM', 'old')",
                sid,
            )

    from arb_plugin.state.store import _init_pg_connection

    async def with_codec(conn: asyncpg.Connection) -> None:
        await _init_pg_connection(conn)
        await go(conn)

    _run(dsn, schema, with_codec)
    return ids


def _counts(dsn: str, schema: str, ids: dict[str, str]) -> dict[str, int]:
    out = {}
    for name, sid in ids.items():
        total = 0
        for table in (
            "session_snapshots",
            "position_snapshots",
            "metrics_snapshots",
            "risk_guard_snapshots",
            "system_logs",
        ):
            total += pg_fetch(dsn, schema, f"SELECT count(*) AS n FROM {table} WHERE session_id = $1", sid)[
                0
            ]["n"]
        out[name] = total
    return out


def test_cleanup_deletes_old_rows_of_stopped_and_crashed_sessions_only(
    schema: str,
    pg_dsn: str,
    unique_id: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("arb_plugin.commands.db",))
    monkeypatch.setenv("ARB_STATE__POSTGRES_SCHEMA", schema)
    ids = _seed_retention(pg_dsn, schema, unique_id)
    before = _counts(pg_dsn, schema, ids)
    assert before == {"active": 17, "stopped": 17, "crashed": 17, "expired": 17}  # 4 tables x 4 ages + 1 log

    assert cli.main(["db", "cleanup", "--older-than", "30d", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "total would delete 28" in out  # 3 sessions x (4 tables x 2 old rows + 1 log) + the expired record
    assert f"would mark crashed (heartbeat expired): {ids['expired']}" in out
    assert _counts(pg_dsn, schema, ids) == before  # a dry run deletes nothing
    assert (
        pg_fetch(pg_dsn, schema, "SELECT status FROM sessions WHERE session_id = $1", ids["expired"])[0][0]
        == "active"
    )

    assert cli.main(["db", "cleanup"]) == 0  # default: [state] retention_days = 30
    out = capsys.readouterr().out
    assert "total deleted 28" in out
    after = _counts(pg_dsn, schema, ids)
    assert after == {"active": 17, "stopped": 8, "crashed": 8, "expired": 8}
    statuses = {
        r["session_id"]: r["status"]
        for r in pg_fetch(pg_dsn, schema, "SELECT session_id, status FROM sessions")
    }
    # The expired session was marked crashed; it ended 40 days ago, so its record went too.
    assert statuses == {ids["active"]: "active", ids["stopped"]: "stopped", ids["crashed"]: "crashed"}
    # The active session keeps even its 45-day-old rows.
    ages = sorted(
        r["data"]
        for r in pg_fetch(
            pg_dsn,
            schema,
            "SELECT data::text AS data FROM position_snapshots WHERE session_id = $1",
            ids["active"],
        )
    )
    assert len(ages) == 4


def test_cleanup_refuses_bad_durations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("arb_plugin.commands.db",))
    for bad in ("30", "0d", "-3d", "3x", "d"):
        assert cli.main(["db", "cleanup", f"--older-than={bad}"]) == 2
        assert f"duration {bad!r} is not valid" in capsys.readouterr().err
