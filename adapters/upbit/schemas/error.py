"""The error envelope shared by REST error bodies and WebSocket error frames (upbit-api.md §4)."""

from __future__ import annotations

import msgspec


class UpbitErrorDetail(msgspec.Struct, frozen=True):
    """``error`` of an error envelope: ``name`` is a string code, or an int equal to the HTTP status."""

    name: str | int | None = None
    message: str | None = None


class UpbitErrorMsg(msgspec.Struct, frozen=True):
    """``{"error":{"name":..,"message":..}}`` (REST error bodies and WS error frames share it)."""

    error: UpbitErrorDetail
