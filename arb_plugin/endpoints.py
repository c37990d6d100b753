"""
Layers in front of NautilusTrader's message-bus endpoints, composed in a fixed order whatever order they are
installed in.

The plugin puts handlers of its own in front of NautilusTrader's engines at their message-bus endpoints
(``MessageBus.deregister`` / ``register``, its public API): the risk guard checks what the ``OrderEmulator``
takes and what it releases, inline dispatch runs the live engines' handlers on the caller's stack. Two of them
hold ``ExecEngine.execute``: the guard's check of released orders must run before inline dispatch hands the
command to the engine, on the inline path and on the queued one alike.

Each is a *layer*: a function from the handler below it to the handler that replaces it, with a ``rank``
(lower is closer to the engine). An endpoint's registered handler is rebuilt from the engine's own handler and
every layer, innermost first, whenever a layer is added or removed. The message bus does not expose what it
holds, so each kernel's layers are kept on the kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

Handler = Callable[[Any], None]
Layer = Callable[[Handler], Handler]

# ranks: inline dispatch sits next to the engine, the paper venue's events and the risk guard's checks in front
RANK_DISPATCH = 0
RANK_PAPER_VENUE = 5
RANK_GUARD = 10

_ATTR = "_arb_endpoint_stacks"


@dataclass
class _Stack:
    base: Handler  # the engine's own handler, registered before any layer
    registered: Handler
    layers: list[tuple[int, str, Layer]] = field(default_factory=list)


def _stacks(kernel: Any) -> dict[str, _Stack]:
    stacks: dict[str, _Stack] | None = getattr(kernel, _ATTR, None)
    if stacks is None:
        stacks = {}
        setattr(kernel, _ATTR, stacks)
    return stacks


def _rebuild(kernel: Any, endpoint: str, stack: _Stack) -> None:
    handler = stack.base
    for _, _, layer in sorted(stack.layers, key=lambda item: item[0]):
        handler = layer(handler)
    bus = kernel.msgbus
    bus.deregister(endpoint, stack.registered)
    bus.register(endpoint, handler)
    stack.registered = handler


def add_layer(kernel: Any, endpoint: str, base: Handler, name: str, rank: int, layer: Layer) -> None:
    """
    Put ``layer`` in front of ``endpoint`` (whose engine handler is ``base``) at ``rank``.

    Raises
    ------
    ValueError
        If a layer of that name already holds the endpoint.
    """
    stacks = _stacks(kernel)
    stack = stacks.get(endpoint)
    if stack is None:
        stack = stacks[endpoint] = _Stack(base=base, registered=base)
    if any(n == name for _, n, _ in stack.layers):
        raise ValueError(f"{endpoint}: a layer named {name!r} is already installed")
    stack.layers.append((rank, name, layer))
    _rebuild(kernel, endpoint, stack)


def remove_layer(kernel: Any, endpoint: str, name: str) -> None:
    """Take the layer ``name`` off ``endpoint`` (the others stay); the engine's own handler once none is left."""
    stack = _stacks(kernel).get(endpoint)
    if stack is None:
        return
    stack.layers = [item for item in stack.layers if item[1] != name]
    _rebuild(kernel, endpoint, stack)
