"""
The Redis keys observability reads and writes, all built by ``arb_plugin.state.keys.KeyBuilder``.

- ``METRICS`` of a session: ``KeyBuilder(env, session)(Domain.METRICS, symbol)`` (portfolio: no symbol);
- the log stream: the environment-wide ``KeyBuilder(env, None)(None, field="logs")``, i.e.
  ``arbitrage:{env}:logs``. One stream per environment (capped at 1000 entries), each entry naming its
  session, so ``arb monitor --tail`` follows whatever session runs without having to find it first.
"""

from __future__ import annotations

from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder

LOG_STREAM_FIELD = "logs"


def metrics_key(env: str, session_id: str, symbol: str | None = None) -> str:
    """The ``METRICS`` key of a session, for the whole portfolio or one symbol."""
    return KeyBuilder(env, session_id)(Domain.METRICS, symbol)


def metrics_pattern(env: str, session_id: str) -> str:
    """``SCAN`` pattern of a session's per-symbol ``METRICS`` keys."""
    return KeyBuilder(env, session_id).pattern(Domain.METRICS)


def log_stream_key(env: str) -> str:
    """The Redis Stream the ``LoggingManager`` appends to (one per environment)."""
    return KeyBuilder(env, None)(None, field=LOG_STREAM_FIELD)
