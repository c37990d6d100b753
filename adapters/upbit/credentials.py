"""Upbit API keys from the environment (``UPBIT_ACCESS_KEY`` / ``UPBIT_SECRET_KEY``)."""

from __future__ import annotations

import os
from collections.abc import Mapping

UPBIT_ACCESS_KEY_ENV = "UPBIT_ACCESS_KEY"
UPBIT_SECRET_KEY_ENV = "UPBIT_SECRET_KEY"


def get_access_key(environ: Mapping[str, str] | None = None) -> str | None:
    """Return ``$UPBIT_ACCESS_KEY`` (``None`` when unset or empty)."""
    return (environ if environ is not None else os.environ).get(UPBIT_ACCESS_KEY_ENV) or None


def get_secret_key(environ: Mapping[str, str] | None = None) -> str | None:
    """Return ``$UPBIT_SECRET_KEY`` (``None`` when unset or empty)."""
    return (environ if environ is not None else os.environ).get(UPBIT_SECRET_KEY_ENV) or None


def mask_key(key: str | None) -> str:
    """Return ``key`` with everything but its first and last 4 characters hidden."""
    if not key:
        return ""
    if len(key) <= 8:
        return "*" * len(key)
    return f"{key[:4]}...{key[-4:]}"
