"""`arb db migrate` against the real PostgreSQL: every table and index, idempotent, refuses edited history."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

import arb_plugin.cli as cli
from arb_plugin.state.migrate import MIGRATIONS_DIR
from arb_plugin.state.migrate import MigrationError
from arb_plugin.state.migrate import load_migrations
from arb_plugin.state.migrate import migrate

from .conftest import pg_fetch

pytestmark = pytest.mark.integration

TABLES = {
    "sessions",
    "session_snapshots",
    "position_snapshots",
    "metrics_snapshots",
    "risk_guard_snapshots",
    "system_logs",
    "schema_migrations",
}
SNAPSHOT_TABLES = ("session_snapshots", "position_snapshots", "metrics_snapshots", "risk_guard_snapshots")


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, pg_schema: str):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("arb_plugin.commands.db",))
    monkeypatch.setenv("ARB_STATE__POSTGRES_SCHEMA", pg_schema)
    return cli.main


def _indexes(dsn: str, schema: str) -> dict[str, str]:
    rows = pg_fetch(dsn, schema, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1", schema)
    return {r["indexname"]: r["indexdef"] for r in rows}


def test_migrate_creates_every_table_and_index_then_is_a_no_op(
    run_cli,
    pg_schema: str,
    pg_dsn: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(["db", "migrate"]) == 0
    assert "applied 1 migration(s): 0001" in capsys.readouterr().out

    tables = {
        r["tablename"]
        for r in pg_fetch(
            pg_dsn, pg_schema, "SELECT tablename FROM pg_tables WHERE schemaname = $1", pg_schema
        )
    }
    assert tables == TABLES

    indexes = _indexes(pg_dsn, pg_schema)
    for table in (*SNAPSHOT_TABLES, "system_logs"):
        defs = [d for d in indexes.values() if f"ON {pg_schema}.{table} " in d]
        assert any("(session_id, created_at)" in d for d in defs), (table, defs)  # composite
        assert any("(created_at DESC)" in d for d in defs), (table, defs)  # time series
    for table in SNAPSHOT_TABLES:
        defs = [d for d in indexes.values() if f"ON {pg_schema}.{table} " in d]
        assert any("USING gin (data jsonb_path_ops)" in d for d in defs), (table, defs)  # JSONB GIN
        assert any("(session_id, kind, symbol, id DESC) WHERE (kind ~ '^[A-Z]'::text)" in d for d in defs), (
            table,
            defs,
        )

    recorded = pg_fetch(
        pg_dsn, pg_schema, "SELECT version, name, checksum, applied_at FROM schema_migrations"
    )
    assert [(r["version"], r["name"], r["checksum"]) for r in recorded] == [
        (m.version, m.name, m.checksum) for m in load_migrations()
    ]

    assert run_cli(["db", "migrate"]) == 0
    assert "up to date (1 migration(s) applied before), nothing to do" in capsys.readouterr().out
    assert (
        pg_fetch(pg_dsn, pg_schema, "SELECT version, name, checksum, applied_at FROM schema_migrations")
        == recorded
    )
    assert _indexes(pg_dsn, pg_schema) == indexes


def _migrate(dsn: str, schema: str, folder: Path):
    async def run():
        conn = await asyncpg.connect(dsn)
        try:
            return await migrate(conn, folder, schema)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_a_changed_applied_file_is_refused(tmp_path: Path, pg_schema: str, pg_dsn: str) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    (folder / "0002_extra.sql").write_text("CREATE TABLE extra (id integer);\n")
    assert _migrate(pg_dsn, pg_schema, folder).applied == (1, 2)

    (folder / "0002_extra.sql").write_text("CREATE TABLE extra (id bigint);\n")
    with pytest.raises(MigrationError, match=r"0002_extra.sql changed after it was applied"):
        _migrate(pg_dsn, pg_schema, folder)

    (folder / "0002_extra.sql").unlink()
    with pytest.raises(MigrationError, match=r"0002_extra is recorded as applied but its file is missing"):
        _migrate(pg_dsn, pg_schema, folder)


def test_a_failing_migration_is_rolled_back_and_not_recorded(
    tmp_path: Path, pg_schema: str, pg_dsn: str
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    (folder / "0002_broken.sql").write_text("CREATE TABLE half (id integer);\nSELECT no_such_function();\n")
    with pytest.raises(MigrationError, match=r"0002_broken\.sql failed and was rolled back"):
        _migrate(pg_dsn, pg_schema, folder)
    versions = [r["version"] for r in pg_fetch(pg_dsn, pg_schema, "SELECT version FROM schema_migrations")]
    assert versions == [1]
    assert pg_fetch(pg_dsn, pg_schema, "SELECT to_regclass('half') AS t")[0]["t"] is None


@pytest.mark.parametrize(
    ("name", "message"),
    [("2_short.sql", "named NNNN_lower_snake_name.sql"), ("0001_dup.sql", "version 0001 is also")],
)
def test_bad_migration_files_are_refused(tmp_path: Path, name: str, message: str) -> None:
    shutil.copytree(MIGRATIONS_DIR, tmp_path / "m")
    (tmp_path / "m" / name).write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match=message):
        load_migrations(tmp_path / "m")
