"""
``arb db``: the PostgreSQL side of the state store.

- ``arb db migrate``: apply pending ``migrations/NNNN_*.sql`` (idempotent; refuses a changed applied file).
- ``arb db cleanup [--older-than 30d] [--dry-run]``: delete rows of stopped or crashed sessions older than
  the limit (default ``[state] retention_days``); an active session is never touched.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="PostgreSQL state: migrate, cleanup")
    db_sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    migrate = db_sub.add_parser("migrate", help="apply pending migrations (idempotent)")
    migrate.add_argument("--dir", type=Path, default=None, help="migrations folder (default: ./migrations)")
    migrate.set_defaults(func=_migrate)

    cleanup = db_sub.add_parser("cleanup", help="delete old rows of stopped/crashed sessions")
    cleanup.add_argument(
        "--older-than",
        default=None,
        metavar="AGE",
        help="e.g. 30d, 12h, 90m (default: [state] retention_days)",
    )
    cleanup.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    cleanup.set_defaults(func=_cleanup)


def _settings(args: argparse.Namespace) -> Any:
    from arb_plugin.settings import load_settings

    return load_settings(args.env, args.config_dir)


async def _connect(settings: Any) -> Any:
    import asyncpg

    from arb_plugin.errors import ArbPluginError

    try:
        return await asyncpg.connect(settings.postgres_dsn, timeout=10)
    except (OSError, asyncpg.PostgresError) as e:
        # Never print the DSN: it may carry a password.
        raise ArbPluginError(f"cannot connect to PostgreSQL ({type(e).__name__}: {e})") from e


def _migrate(args: argparse.Namespace) -> int:
    from arb_plugin.state.migrate import MIGRATIONS_DIR
    from arb_plugin.state.migrate import migrate

    settings = _settings(args)
    folder = args.dir or MIGRATIONS_DIR
    schema = settings.state.postgres_schema

    async def run() -> Any:
        conn = await _connect(settings)
        try:
            return await migrate(conn, folder, schema)
        finally:
            await conn.close()

    result = asyncio.run(run())
    if result.applied:
        applied = ", ".join(f"{v:04d}" for v in result.applied)
        print(f"schema {schema}: applied {len(result.applied)} migration(s): {applied}")
    else:
        print(f"schema {schema}: up to date ({len(result.already)} migration(s) applied before), nothing to do")
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    import datetime as dt

    from arb_plugin.errors import ArbPluginError
    from arb_plugin.state.retention import cleanup
    from arb_plugin.state.retention import parse_duration

    settings = _settings(args)
    state = settings.state
    older_than = parse_duration(args.older_than) if args.older_than else dt.timedelta(days=state.retention_days)

    async def run() -> Any:
        conn = await _connect(settings)
        try:
            await conn.execute(f'SET search_path TO "{state.postgres_schema}"')
            if await conn.fetchval("SELECT to_regclass('sessions')") is None:
                raise ArbPluginError(
                    f"schema {state.postgres_schema!r} has no state tables: run `arb db migrate` first",
                )
            return await cleanup(conn, older_than, state.heartbeat_timeout_secs, dry_run=args.dry_run)
        finally:
            await conn.close()

    report = asyncio.run(run())
    verb = "would delete" if report.dry_run else "deleted"
    print(
        f"retention: rows older than {older_than} (before {report.cutoff:%Y-%m-%d %H:%M:%S %Z}), "
        f"sessions not active only"
    )
    if report.marked_crashed:
        mark = "would mark" if report.dry_run else "marked"
        print(f"  {mark} crashed (heartbeat expired): {', '.join(report.marked_crashed)}")
    for table, count in report.deleted.items():
        print(f"  {table:<22} {verb} {count}")
    print(f"  total {verb} {report.total}{' (dry run: nothing deleted)' if report.dry_run else ''}")
    return 0
