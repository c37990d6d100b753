"""
The Redis keys observability reads and writes: the only place they are formed in this package.

Every key follows the keyspace ``arbitrage:{env}:{session_id}:{domain}:{symbol}:{field}`` (absent parts
left out) of ``arb_plugin.state.keys.KeyBuilder``. Until the state store lands on main, the keys are built
here, in these functions only, exactly as ``KeyBuilder`` builds them, so that switching over touches
nothing else:

- ``METRICS`` of a session: ``KeyBuilder(env, session)(Domain.METRICS, symbol)``;
- the log stream: environment-wide ``KeyBuilder(env, None)(None, field="logs")`` ->
  ``arbitrage:{env}:logs``. One stream per environment (capped at 1000 entries), each entry naming its
  session, so ``arb monitor --tail`` follows whatever session runs without having to find it first.
"""

from __future__ import annotations

KEY_ROOT = "arbitrage"
METRICS_DOMAIN = "METRICS"
LOG_STREAM_FIELD = "logs"


def _join(*parts: str | None) -> str:
    return ":".join(p for p in parts if p)


def metrics_key(env: str, session_id: str, symbol: str | None = None) -> str:
    """The ``METRICS`` key of a session, for the whole portfolio or one symbol."""
    return _join(KEY_ROOT, env, session_id, METRICS_DOMAIN, symbol)


def metrics_pattern(env: str, session_id: str) -> str:
    """``SCAN`` pattern of a session's per-symbol ``METRICS`` keys."""
    return _join(KEY_ROOT, env, session_id, METRICS_DOMAIN, "*")


def log_stream_key(env: str) -> str:
    """The Redis Stream the ``LoggingManager`` appends to (one per environment)."""
    return _join(KEY_ROOT, env, LOG_STREAM_FIELD)
