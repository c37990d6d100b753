"""
PostgreSQL migrations: ordered ``migrations/NNNN_name.sql`` files applied once each.

- Every applied file is recorded in ``schema_migrations`` (version, name, SHA-256 checksum, time).
- Applying is idempotent: a second run applies nothing.
- A file changed after it was applied is refused (its checksum no longer matches), as is a recorded
  version whose file is gone: the database and the folder must tell the same history.
- Each file runs in its own transaction together with its ``schema_migrations`` row; concurrent
  migrators of the same schema are serialised by an advisory lock.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from arb_plugin.errors import ArbPluginError
from arb_plugin.settings import REPO_ROOT

if TYPE_CHECKING:
    import asyncpg


MIGRATIONS_DIR = REPO_ROOT / "migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(ArbPluginError):
    """The migration files or the recorded history are inconsistent."""


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    path: Path
    sql: str
    checksum: str


@dataclass(frozen=True)
class MigrationResult:
    """What :func:`migrate` did: versions applied now, and versions that were already applied."""

    applied: tuple[int, ...]
    already: tuple[int, ...]


def load_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """
    Read every ``NNNN_name.sql`` in ``folder``, in version order.

    Raises
    ------
    MigrationError
        On a file whose name does not match, a duplicate version, or a missing folder.
    """
    if not folder.is_dir():
        raise MigrationError(f"migrations folder {folder} not found")
    out: dict[int, Migration] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lower_snake_name.sql")
        version = int(match.group(1))
        if version in out:
            raise MigrationError(f"{path.name}: version {version:04d} is also {out[version].path.name}")
        data = path.read_bytes()
        out[version] = Migration(
            version=version,
            name=match.group(2),
            path=path,
            sql=data.decode("utf-8"),
            checksum=hashlib.sha256(data).hexdigest(),
        )
    return [out[v] for v in sorted(out)]


def _lock_id(schema: str) -> int:
    # A stable signed 64-bit advisory lock id per schema.
    return zlib.crc32(f"arb-plugin:migrate:{schema}".encode()) - 2**31


async def migrate(
    conn: asyncpg.Connection,
    folder: Path = MIGRATIONS_DIR,
    schema: str = "public",
) -> MigrationResult:
    """
    Apply every pending migration in ``folder`` to ``schema`` on ``conn``.

    Raises
    ------
    MigrationError
        If an applied file changed, an applied file is missing, or a migration fails (that migration is
        rolled back; earlier ones stay applied).
    """
    migrations = load_migrations(folder)
    await conn.execute("SELECT pg_advisory_lock($1)", _lock_id(schema))
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
        )
        rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        recorded = {r["version"]: (r["name"], r["checksum"]) for r in rows}
        by_version = {m.version: m for m in migrations}
        for version, (name, checksum) in recorded.items():
            migration = by_version.get(version)
            if migration is None:
                raise MigrationError(
                    f"schema {schema!r}: migration {version:04d}_{name} is recorded as applied but its file "
                    f"is missing from {folder}",
                )
            if migration.checksum != checksum:
                raise MigrationError(
                    f"{migration.path.name} changed after it was applied to schema {schema!r} "
                    f"(recorded sha256 {checksum[:12]}..., file now {migration.checksum[:12]}...); "
                    "never edit an applied migration: add a new numbered file",
                )
        applied: list[int] = []
        for migration in migrations:
            if migration.version in recorded:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
            except MigrationError:
                raise
            except Exception as e:
                raise MigrationError(f"{migration.path.name} failed and was rolled back: {e}") from e
            applied.append(migration.version)
        return MigrationResult(applied=tuple(applied), already=tuple(sorted(recorded)))
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _lock_id(schema))
