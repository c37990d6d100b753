"""
The Redis keyspace: one home for every key arb-plugin reads or writes.

Format (SPEC, State)::

    arbitrage:{env}:{session_id}:{domain}:{symbol}:{field}

Absent parts are left out, so ``KeyBuilder(Domain.METRICS, symbol="ETHUSDT")`` for session
``session_123`` in development is ``arbitrage:dev:session_123:METRICS:ETHUSDT``. Every part is checked:
no part may be empty or contain ``:``, ``*``, ``?``, ``[``, ``]`` or whitespace, so a key always parses
back into the parts it was built from and never matches a glob it was not meant to.

:class:`KeyBuilder` is the only code that builds ``arbitrage:`` keys (a test greps the tree for any other).

Domains and TTLs
----------------
========== ======= ===============================================================================
domain     TTL (s) why
========== ======= ===============================================================================
STATE       3 600  per-symbol position and pair state, session metadata: kept while the session is
                   active (rewritten on every change and by the bridge's refresh)
METRICS       120  live monitoring (MetricsCollector flushes every second)
GUARD       7 200  risk guard state: long cooldowns
COOLDOWN    3 600  one key per cooling scope; written with the cooldown's own remaining time (never
                   more than 3 600 s), so the key disappears when the cooldown expires
PORTFOLIO   3 600  *chosen*: portfolio aggregates (exposure, PnL in KRW and USDT, balances) are
                   session state like STATE; they are recomputed from NautilusTrader's portfolio on
                   every flush and refresh, so they live as long as the session state they summarise
SNAPSHOT   86 400  the latest PairSnapshot per symbol: how long a crash can be resumed
WS            120  *chosen*: WebSocket connection state per venue is a live view like METRICS; a
                   process that died stops refreshing it and within two minutes no socket shows as
                   connected
========== ======= ===============================================================================
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NamedTuple

KEY_PREFIX = "arbitrage"

_PART = re.compile(r"^[^:\s*?\[\]]+$")


class Domain(StrEnum):
    """Category of a key; each has its TTL (:attr:`ttl_secs`)."""

    STATE = "STATE"
    METRICS = "METRICS"
    GUARD = "GUARD"
    COOLDOWN = "COOLDOWN"
    PORTFOLIO = "PORTFOLIO"
    SNAPSHOT = "SNAPSHOT"
    WS = "WS"

    @property
    def ttl_secs(self) -> int:
        """Time to live of every key in this domain (a COOLDOWN key may be written shorter)."""
        return DOMAIN_TTL_SECS[self]


DOMAIN_TTL_SECS: dict[Domain, int] = {
    Domain.STATE: 3_600,
    Domain.METRICS: 120,
    Domain.GUARD: 7_200,
    Domain.COOLDOWN: 3_600,
    Domain.PORTFOLIO: 3_600,
    Domain.SNAPSHOT: 86_400,
    Domain.WS: 120,
}


class KeyParts(NamedTuple):
    """The parts a key was built from (``None`` where absent)."""

    env: str
    session_id: str | None
    domain: Domain | None
    symbol: str | None
    field: str | None


def check_part(name: str, value: str) -> str:
    """Return ``value`` if it can be one part of a key, else raise ``ValueError`` naming it."""
    if not isinstance(value, str) or not _PART.match(value):
        raise ValueError(
            f"key part {name}={value!r} is not allowed: must be non-empty, without ':', '*', '?', '[', ']' "
            "or whitespace",
        )
    return value


class KeyBuilder:
    """
    Builds the keys of one session: ``KeyBuilder(env="dev", session_id="session_123")``.

    The builder is called the way the SPEC writes it::

        KeyBuilder(Domain.STATE, symbol="BTCUSDT", field="position")
        # -> "arbitrage:dev:session_123:STATE:BTCUSDT:position"

    Parameters
    ----------
    env : str
        The short environment name (``dev``, ``stg``, ``prod``; see ``Environment.short``).
    session_id : str, optional
        The session; ``None`` builds environment-wide keys (``arbitrage:dev:{field}``).
    """

    __slots__ = ("_cache", "_prefix", "env", "session_id")

    def __init__(self, env: str, session_id: str | None) -> None:
        self.env = check_part("env", env)
        self.session_id = None if session_id is None else check_part("session_id", session_id)
        self._prefix = f"{KEY_PREFIX}:{env}" if session_id is None else f"{KEY_PREFIX}:{env}:{session_id}"
        self._cache: dict[tuple[Domain | None, str | None, str | None], str] = {}

    def __repr__(self) -> str:
        return f"KeyBuilder(env={self.env!r}, session_id={self.session_id!r})"

    def __call__(self, domain: Domain | None, symbol: str | None = None, field: str | None = None) -> str:
        """Return the key for ``domain`` / ``symbol`` / ``field`` (absent parts left out)."""
        cache_key = (domain, symbol, field)
        key = self._cache.get(cache_key)
        if key is None:
            key = self._build(domain, symbol, field)
            self._cache[cache_key] = key
        return key

    def _build(self, domain: Domain | None, symbol: str | None, field: str | None) -> str:
        parts = [self._prefix]
        if domain is not None:
            parts.append(Domain(domain).value)
        if symbol is not None:
            if domain is None:
                raise ValueError(f"a key with symbol={symbol!r} needs a domain")
            parts.append(check_part("symbol", symbol))
        if field is not None:
            parts.append(check_part("field", field))
        if len(parts) == 1:
            raise ValueError("a key needs at least a domain or a field")
        return ":".join(parts)

    def pattern(self, domain: Domain, field: str | None = None) -> str:
        """A SCAN ``MATCH`` pattern for every symbol's key in ``domain`` (with ``field`` when given)."""
        base = f"{self._prefix}:{Domain(domain).value}:*"
        return base if field is None else f"{base}:{check_part('field', field)}"

    def session_pattern(self) -> str:
        """A SCAN ``MATCH`` pattern for every key of this session."""
        return f"{self._prefix}:*"

    def parse(self, key: str | bytes) -> KeyParts:
        """
        Split one of this builder's keys back into its parts.

        Raises
        ------
        ValueError
            If ``key`` is not a key of this environment and session, or is malformed.
        """
        text = key.decode() if isinstance(key, bytes) else key
        if not text.startswith(self._prefix + ":"):
            raise ValueError(f"key {text!r} is not under {self._prefix}:")
        rest = text[len(self._prefix) + 1 :].split(":")
        if self.session_id is None:
            if len(rest) != 1 or not rest[0]:
                raise ValueError(f"key {text!r} is not an environment-wide key")
            return KeyParts(self.env, None, None, None, rest[0])
        try:
            domain = Domain(rest[0])
        except ValueError:
            raise ValueError(f"key {text!r}: unknown domain {rest[0]!r}") from None
        if len(rest) == 1:
            return KeyParts(self.env, self.session_id, domain, None, None)
        if len(rest) == 2:
            # One part after the domain: symbol-level keys are the norm; session-wide keys of a domain
            # carry a field. Callers know which they wrote; parse reports it as the symbol.
            return KeyParts(self.env, self.session_id, domain, rest[1], None)
        if len(rest) == 3:
            return KeyParts(self.env, self.session_id, domain, rest[1], rest[2])
        raise ValueError(f"key {text!r} has too many parts")
