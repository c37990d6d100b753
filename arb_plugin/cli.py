"""
The ``arb`` command.

Each sub-command lives in its own module under :mod:`arb_plugin.commands` and exposes
``register(subparsers)``; this module only wires them together and turns our errors into a clear
message and exit status 2. Heavy imports (NautilusTrader) happen inside the handlers, so ``arb --help``
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from arb_plugin.errors import ArbPluginError

COMMAND_MODULES: tuple[str, ...] = (
    "arb_plugin.commands.backtest",
    "arb_plugin.commands.catalog",
    "arb_plugin.commands.live",
    "arb_plugin.commands.monitor",
    "arb_plugin.commands.db",
    "arb_plugin.commands.upbit_check",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``arb`` argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="arb",
        description="Binance x Upbit arbitrage on NautilusTrader: backtest, paper, live, state, monitor.",
    )
    parser.add_argument("--env", default=None, help="development | staging | production (default: $ARB_ENV)")
    parser.add_argument("--config-dir", default=None, help="folder with {env}.toml (default: ./config)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``arb``; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ArbPluginError as e:
        print(f"arb {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"arb {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
