"""The ``exchangeInfo`` symbol entries the fake serves: the project's one source (``arb_plugin.instruments``)."""

from __future__ import annotations

from typing import Any


def default_symbols() -> list[dict[str, Any]]:
    """``BTCUSDT`` exactly as ``arb_plugin.instruments`` ships it (what the live provider parses)."""
    from arb_plugin.instruments import binance_spot_symbol_info

    return [binance_spot_symbol_info("BTCUSDT")]
