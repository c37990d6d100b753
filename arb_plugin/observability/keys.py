"""
The Redis keys observability reads and writes: the only place they are formed in this package.

Every key follows the keyspace ``arbitrage:{env}:{session_id}:{domain}:{symbol}:{field}`` (absent parts
left out). Until the state store's ``KeyBuilder`` lands, the keys are built here, in these functions only,
so that switching over touches nothing else.
"""

from __future__ import annotations

KEY_ROOT = "arbitrage"
METRICS_DOMAIN = "METRICS"
LOGS_DOMAIN = "LOGS"


def _join(*parts: str | None) -> str:
    return ":".join(p for p in parts if p)


def metrics_key(env: str, session_id: str, symbol: str | None = None) -> str:
    """The ``METRICS`` key of a session, for the whole portfolio or one symbol."""
    return _join(KEY_ROOT, env, session_id, METRICS_DOMAIN, symbol)


def log_stream_key(env: str, session_id: str) -> str:
    """The Redis Stream the ``LoggingManager`` appends to (one per session)."""
    return _join(KEY_ROOT, env, session_id, LOGS_DOMAIN)


def log_stream_pattern(env: str) -> str:
    """``SCAN`` pattern matching every session's log stream in one environment."""
    return _join(KEY_ROOT, env, "*", LOGS_DOMAIN)


def session_of_log_stream(key: str) -> str:
    """Return the session id part of a log stream key."""
    return key.split(":")[2]
