"""``arb backtest``: run the strategy in a NautilusTrader BacktestNode on a catalog and write a report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from arb_plugin.errors import ArbPluginError


class BacktestArgumentError(ArbPluginError):
    """A combination of ``arb backtest`` options that cannot run."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "backtest",
        help="backtest on a ParquetDataCatalog (default: the shipped catalog/) and write a report",
        description="Run ArbitrageStrategy in a BacktestNode; print a summary; write summary.json, fills.csv, "
        "positions.csv and tearsheet.html.",
    )
    p.add_argument("--config", type=Path, default=None, help="a settings TOML file (default: config/{env}.toml)")
    p.add_argument("--catalog", type=Path, default=None, help="catalog folder (default: backtest.catalog)")
    p.add_argument("--start", default=None, help="start time, UTC (e.g. 2024-12-01 or 2024-12-01T09:00)")
    p.add_argument("--end", default=None, help="end time, UTC")
    p.add_argument("--out", type=Path, default=None, help="report folder (default: backtest.out)")
    p.add_argument("--no-tearsheet", action="store_true", help="skip the HTML tearsheet")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--state",
        action="store_true",
        help="also mirror state (pairs, risk guard, portfolio) into Redis and PostgreSQL through the StateBridge "
        "([state] settings; run `arb db migrate` first); prints the session id",
    )
    p.add_argument(
        "--session-id",
        default=None,
        help="with --state: resume this session (its pair snapshots and risk guard state) instead of a new one",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from arb_plugin.nodes.backtest import run_backtest
    from arb_plugin.report import build_report
    from arb_plugin.report import format_summary
    from arb_plugin.settings import load_settings

    settings = _load(args, load_settings)
    out = Path(args.out or settings.backtest.out)
    actors, session_id = _state_bridge(args, settings)
    outcome = run_backtest(
        settings, args.catalog, args.start, args.end, progress=not args.no_progress, actors=actors
    )
    try:
        summary = build_report(outcome, out, tearsheet=not args.no_tearsheet)
    finally:
        outcome.dispose()
    print("\narb backtest: Binance x Upbit arbitrage (NautilusTrader BacktestNode)")
    print(format_summary(summary))
    files = ["summary.json", "fills.csv", "positions.csv"] + ([] if args.no_tearsheet else ["tearsheet.html"])
    print(f"\nreport: {', '.join(str(out / f) for f in files)}")
    if session_id is not None:
        print(f"state: session {session_id} (Redis keys arbitrage:{settings.env.short}:{session_id}:*, "
              f"PostgreSQL schema {settings.state.postgres_schema})")
    return 0


def _state_bridge(args: argparse.Namespace, settings: Any) -> tuple[list[Any], str | None]:
    """The StateBridge actor of ``--state`` (none without it) and its session id."""
    if args.session_id is not None and not args.state:
        raise BacktestArgumentError("--session-id needs --state")
    if not args.state:
        return [], None
    from arb_plugin.state.bridge import state_bridge_actor
    from arb_plugin.state.bridge import state_bridge_config
    from arb_plugin.state.keys import check_part
    from arb_plugin.state.sessions import new_session_id

    session_id = args.session_id or new_session_id()
    try:
        check_part("session_id", session_id)
    except ValueError as e:
        raise BacktestArgumentError(f"--session-id: {e}") from None
    _check_state_database(settings)
    return [state_bridge_actor(state_bridge_config(settings, session_id, "backtest"))], session_id


def _check_state_database(settings: Any) -> None:
    """Fail before the backtest when PostgreSQL (required by the StateBridge) is unreachable or not migrated."""
    import asyncio

    import asyncpg

    schema = settings.state.postgres_schema

    async def tables_exist() -> bool:
        conn = await asyncpg.connect(settings.postgres_dsn, timeout=10, server_settings={"search_path": schema})
        try:
            return bool(await conn.fetchval("SELECT to_regclass('sessions') IS NOT NULL"))
        finally:
            await conn.close()

    try:
        migrated = asyncio.run(tables_exist())
    except (OSError, asyncpg.PostgresError) as e:  # never print the DSN: it may carry a password
        raise BacktestArgumentError(f"--state: cannot connect to PostgreSQL ({type(e).__name__}: {e})") from e
    if not migrated:
        raise BacktestArgumentError(f"--state: schema {schema!r} has no state tables; run `arb db migrate` first")


def _load(args: argparse.Namespace, load_settings: Any) -> Any:
    return load_settings(args.env, args.config_dir, config_file=args.config)
