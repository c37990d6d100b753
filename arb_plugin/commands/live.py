"""``arb paper`` and ``arb live``: the strategy in a NautilusTrader TradingNode on live market data."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

SESSION_ENV = "ARB_SESSION_ID"


def register(subparsers: argparse._SubParsersAction) -> None:
    paper = subparsers.add_parser(
        "paper",
        help="paper trading: live Binance and Upbit data, simulated fills (NautilusTrader sandbox)",
        description="Run ArbitrageStrategy in a TradingNode on live market data with a SandboxExecutionClient "
        "per venue, funded from [node] paper_starting_balances. Ctrl-C stops cleanly.",
    )
    _common(paper)
    paper.set_defaults(func=run_paper)

    live = subparsers.add_parser(
        "live",
        help="live trading on Binance and Upbit (real orders; needs keys and --confirm-live)",
        description="Run ArbitrageStrategy in a TradingNode with the venues' execution clients. Needs "
        "BINANCE_API_KEY, BINANCE_API_SECRET, UPBIT_ACCESS_KEY and UPBIT_SECRET_KEY, and --confirm-live.",
    )
    _common(live)
    live.add_argument("--confirm-live", action="store_true", help="yes, send real orders")
    live.set_defaults(func=run_live)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--session-id", "--session", dest="session", default=None,
                   help=f"run (or resume) this session id (default: ${SESSION_ENV}, else a new session; a "
                   "deployment pins it, so a restart after a crash resumes the session: open pairs, daily "
                   "loss, halts and cooldowns)")


def session_for(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> str | None:
    """The session id to run: ``--session``, else ``$ARB_SESSION_ID``, else ``None`` (a new session)."""
    return args.session or environ.get(SESSION_ENV) or None


def run_paper(args: argparse.Namespace) -> int:
    return _run(args, "paper", confirm_live=False)


def run_live(args: argparse.Namespace) -> int:
    return _run(args, "live", confirm_live=args.confirm_live)


def _run(args: argparse.Namespace, mode: str, confirm_live: bool) -> int:
    from arb_plugin.nodes.live import TradingMode
    from arb_plugin.nodes.live import build_live_node
    from arb_plugin.settings import load_settings

    settings = load_settings(args.env, args.config_dir)
    live = build_live_node(settings, TradingMode(mode), session_id=session_for(args), confirm_live=confirm_live)
    return live.run()
