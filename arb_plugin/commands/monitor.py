"""``arb monitor``: tail the logs, watch the metrics, list errors, search (Redis stream + ``system_logs``)."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from arb_plugin.errors import ArbPluginError


class MonitorError(ArbPluginError):
    """The monitor cannot do what was asked (bad argument, store unreachable)."""


_CATEGORIES = ("ENGINE", "TRADE", "GUARD", "RISK", "EXCHANGE", "POSITION", "SYNC", "WEBSOCKET", "METRICS", "SYSTEM")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "monitor",
        help="watch a running node: --tail, --metrics, --errors or --search TEXT",
        description="Read the environment's log stream (Redis), system_logs (PostgreSQL) and METRICS keys.",
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--tail", action="store_true", help="the last log lines, then follow new ones")
    mode.add_argument("--metrics", action="store_true", help="live metrics dashboard, redrawn in place")
    mode.add_argument("--errors", action="store_true", help="ERROR and above from system_logs, newest first")
    mode.add_argument("--search", metavar="TEXT", help="log records containing TEXT (case-insensitive)")
    p.add_argument("--session", default=None, help="only this session (default: all; --metrics: the latest)")
    p.add_argument("--lines", type=_positive, default=20, help="--tail: lines of history first (default 20)")
    p.add_argument("--no-follow", action="store_true", help="--tail: print the history and stop")
    p.add_argument("--level", type=str.upper, choices=_LEVELS, default="DEBUG", help="--tail: minimum level")
    p.add_argument("--category", type=str.upper, choices=_CATEGORIES, default=None, help="--tail: one category")
    p.add_argument("--limit", type=_positive, default=50, help="--errors/--search: at most this many")
    p.add_argument("--since", default=None, help="--errors: e.g. 30m, 2h, 1d or an ISO time")
    p.add_argument("--interval", type=float, default=1.0, help="--metrics: refresh seconds (default 1)")
    p.add_argument("--iterations", type=_positive, default=None, help="--metrics: frames, then stop")
    p.add_argument("--no-color", action="store_true", help="plain output")
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be > 0")
    return value


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``30m``, ``2h``, ``1d``, ``45s`` before now, or an ISO time (UTC when no zone is given)."""
    if text is None:
        return None
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise MonitorError(f"--since {text!r}: use e.g. 30m, 2h, 1d or an ISO time like 2026-01-31T09:00") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    import redis

    from arb_plugin.observability.logging import LogLevel
    from arb_plugin.observability.monitor import LogFilter
    from arb_plugin.observability.monitor import LogMonitor
    from arb_plugin.observability.monitor import format_entry
    from arb_plugin.observability.monitor import run_dashboard
    from arb_plugin.settings import load_settings

    settings = load_settings(args.env, args.config_dir)
    since = parse_since(args.since)
    if args.interval <= 0:
        raise MonitorError(f"--interval {args.interval}: must be > 0 seconds")
    monitor = LogMonitor(
        settings.redis_url,
        settings.env.short,
        settings.postgres_dsn,
        settings.state.postgres_schema,
    )
    color = not args.no_color and sys.stdout.isatty()
    out = sys.stdout
    try:
        if args.tail:
            keep = LogFilter(args.session, LogLevel.parse(args.level), args.category)
            for entry in monitor.tail(args.lines, follow=not args.no_follow, keep=keep):
                print(format_entry(entry, color), file=out, flush=True)
        elif args.metrics:
            run_dashboard(monitor, args.session, out, args.interval, args.iterations)
        elif args.errors:
            for entry in monitor.errors(args.limit, since, args.session):
                print(format_entry(entry, color), file=out)
        else:
            found = monitor.search(args.search, args.limit, args.session)
            for entry in found:
                print(format_entry(entry, color), file=out)
            print(f"-- {len(found)} record(s) matching {args.search!r}", file=sys.stderr)
    except redis.exceptions.ConnectionError as e:
        raise MonitorError(f"cannot reach Redis at {_safe_url(settings.redis_url)}: {e}") from e
    except OSError as e:  # PostgreSQL unreachable (asyncpg raises OSError subclasses)
        raise MonitorError(f"cannot reach PostgreSQL: {e}") from e
    finally:
        monitor.close()
    return 0


def _safe_url(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
