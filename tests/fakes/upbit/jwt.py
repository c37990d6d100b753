"""
Server-side JWT verification, the way Upbit checks a request (upbit-api.md §2).

Written independently of ``adapters.upbit.auth`` (stdlib only), so a wrong client cannot pass by sharing
the same mistake: the query hash is recomputed from the URL the server received (decoded) or the JSON body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from urllib.parse import unquote


class JwtRejected(Exception):
    """Verification failed: ``name`` is the Upbit error code, ``status`` the HTTP status."""

    def __init__(self, name: str, message: str, status: int = 401) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.status = status


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def query_string_from_url(raw_query: str) -> str:
    """Return the unencoded ``k=v&...`` string of a received query, in the order received."""
    if not raw_query:
        return ""
    pairs = []
    for item in raw_query.split("&"):
        key, _, value = item.partition("=")
        pairs.append(f"{unquote(key)}={unquote(value)}")
    return "&".join(pairs)


def query_string_from_body(body: Mapping[str, object]) -> str:
    """Return the ``k=v&...`` string of a JSON body, in body order."""
    return "&".join(f"{k}={v}" for k, v in body.items())


class JwtVerifier:
    """Checks ``Authorization: Bearer <JWT>`` against one key pair; remembers used nonces."""

    def __init__(self, access_key: str, secret_key: str) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.used_nonces: set[str] = set()
        self.algorithms_seen: list[str] = []

    def verify(self, authorization: str | None, query: str) -> dict[str, str]:
        """Return the token payload, or raise ``JwtRejected`` with Upbit's error name."""
        if not authorization or not authorization.startswith("Bearer "):
            raise JwtRejected("no_authorization_token", "Authorization header is missing")
        token = authorization[len("Bearer ") :]
        try:
            header_b64, payload_b64, signature_b64 = token.split(".")
            header = json.loads(_b64decode(header_b64))
            payload = json.loads(_b64decode(payload_b64))
        except (ValueError, json.JSONDecodeError) as e:
            raise JwtRejected("jwt_verification", f"malformed token: {e}") from e
        if payload.get("access_key") != self.access_key:
            raise JwtRejected("invalid_access_key", "Invalid access key")
        alg = header.get("alg")
        digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}.get(alg)
        if digest is None:
            raise JwtRejected("jwt_verification", f"unsupported alg {alg!r}")
        expected = hmac.new(self.secret_key.encode(), f"{header_b64}.{payload_b64}".encode(), digest).digest()
        if not hmac.compare_digest(expected, _b64decode(signature_b64)):
            raise JwtRejected("jwt_verification", "Jwt 토큰 검증에 실패했습니다.")
        nonce = payload.get("nonce")
        if not nonce:
            raise JwtRejected("jwt_verification", "nonce is missing")
        if nonce in self.used_nonces:
            raise JwtRejected("nonce_used", "nonce was used before")
        if query:
            if payload.get("query_hash_alg", "SHA512") != "SHA512":
                raise JwtRejected("invalid_query_payload", "query_hash_alg must be SHA512")
            if payload.get("query_hash") != hashlib.sha512(query.encode()).hexdigest():
                raise JwtRejected("invalid_query_payload", f"query_hash does not match {query!r}")
        elif "query_hash" in payload:
            raise JwtRejected("invalid_query_payload", "query_hash given for a request without parameters")
        self.used_nonces.add(nonce)
        self.algorithms_seen.append(alg)
        return payload
