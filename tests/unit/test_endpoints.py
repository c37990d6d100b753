"""Layers on NautilusTrader message-bus endpoints: composed by rank whatever the install order, removable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nautilus_trader.backtest.engine import BacktestEngine

from arb_plugin.endpoints import add_layer
from arb_plugin.endpoints import remove_layer


def _tagging(seen: list[str], tag: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    def layer(below: Callable[[Any], None]) -> Callable[[Any], None]:
        def handler(message: Any) -> None:
            seen.append(tag)
            below(message)

        return handler

    return layer


@pytest.mark.parametrize("order", [("inner", "outer"), ("outer", "inner")])
def test_layers_run_outermost_first_whatever_the_install_order(order: tuple[str, str]) -> None:
    engine = BacktestEngine()
    try:
        kernel, seen = engine.kernel, []
        base = seen.append  # the "engine's own" handler records the message itself
        kernel.msgbus.register("Test.execute", base)
        ranks = {"inner": 0, "outer": 10}
        for name in order:
            add_layer(kernel, "Test.execute", base, name, ranks[name], _tagging(seen, name))
        kernel.msgbus.send("Test.execute", "m1")
        assert seen == ["outer", "inner", "m1"]
        with pytest.raises(ValueError, match="already installed"):
            add_layer(kernel, "Test.execute", base, "inner", 0, _tagging(seen, "again"))

        remove_layer(kernel, "Test.execute", "inner")
        kernel.msgbus.send("Test.execute", "m2")
        remove_layer(kernel, "Test.execute", "outer")
        kernel.msgbus.send("Test.execute", "m3")
        assert seen[3:] == ["outer", "m2", "m3"]  # then the engine's own handler alone
    finally:
        engine.dispose()
