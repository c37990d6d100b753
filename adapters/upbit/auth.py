"""
Upbit request authentication: a JWT per request (upbit-api.md §2).

The token's payload holds ``access_key``, a fresh ``nonce`` (a reused nonce is refused with
``nonce_used``) and, when the request has query parameters or a body, ``query_hash`` = hex SHA-512 of the
**unencoded** query string with ``query_hash_alg = "SHA512"``:

- GET/DELETE: the query as sent, in order, not URL-encoded; ``[]`` array parameters repeat their key
  (``states[]=wait&states[]=watch``), plain list parameters are comma-joined (``markets=KRW-BTC,KRW-ETH``);
- POST: every body key/value as ``k=v`` joined with ``&`` in body order.

The signing key is the secret key string as issued (it is not base64 and must not be decoded). The
header and payload are serialised compactly in insertion order, like PyJWT, so tokens are reproducible
byte for byte (``tests/unit/upbit/test_auth.py`` checks the worked example of upbit-api.md §2.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from decimal import Decimal
from urllib.parse import quote

from adapters.upbit.credentials import mask_key
from adapters.upbit.enums import UpbitJwtAlgorithm

ParamValue = str | int | Decimal | bool | Sequence[str] | None
QueryParams = list[tuple[str, str]]

_DIGESTS = {
    UpbitJwtAlgorithm.HS512: hashlib.sha512,
    UpbitJwtAlgorithm.HS256: hashlib.sha256,
}


def _param_str(value: str | int | Decimal | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def flatten_params(params: Mapping[str, ParamValue] | None) -> QueryParams:
    """
    Return ``params`` as ordered ``(key, value)`` pairs, the way Upbit expects them.

    ``None`` values are dropped; a key ending in ``[]`` with a list value is repeated once per item;
    any other list value is comma-joined.
    """
    out: QueryParams = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, (str, int, Decimal, bool)):
            out.append((key, _param_str(value)))
        elif key.endswith("[]"):
            out.extend((key, _param_str(item)) for item in value)
        else:
            out.append((key, ",".join(_param_str(item) for item in value)))
    return out


def hash_input(pairs: Iterable[tuple[str, str]]) -> str:
    """Return the unencoded ``k=v&...`` string that ``query_hash`` is computed over."""
    return "&".join(f"{key}={value}" for key, value in pairs)


def encode_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Return the URL-encoded query sent on the wire (``states%5B%5D=wait``; ``:`` and ``+`` escaped)."""
    return "&".join(f"{quote(key, safe='')}={quote(value, safe=',')}" for key, value in pairs)


def query_hash(query: str) -> str:
    """Return the hex SHA-512 of ``query`` (UTF-8)."""
    return hashlib.sha512(query.encode()).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact_json(obj: Mapping[str, str]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class UpbitSigner:
    """
    Builds the ``Authorization: Bearer <JWT>`` header of one Upbit request.

    Parameters
    ----------
    access_key : str
        The Upbit access key.
    secret_key : str
        The Upbit secret key (used as issued, never decoded).
    algorithm : UpbitJwtAlgorithm, default HS512
        The JWT signing algorithm (``alg`` names it).
    nonce_factory : Callable[[], str], optional
        Returns a fresh nonce per token; default a random UUID4 string.

    """

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        algorithm: UpbitJwtAlgorithm = UpbitJwtAlgorithm.HS512,
        nonce_factory: Callable[[], str] | None = None,
    ) -> None:
        if not access_key or not secret_key:
            raise ValueError("both an Upbit access key and secret key are required to sign requests")
        self._access_key = access_key
        self._secret = secret_key.encode()
        self._algorithm = algorithm
        self._digest = _DIGESTS[algorithm]
        self._nonce_factory = nonce_factory or (lambda: str(uuid.uuid4()))
        self._header = _b64url(_compact_json({"alg": algorithm.value, "typ": "JWT"}))

    @property
    def access_key(self) -> str:
        """Return the access key (public half of the key pair)."""
        return self._access_key

    @property
    def algorithm(self) -> UpbitJwtAlgorithm:
        """Return the signing algorithm."""
        return self._algorithm

    def token(self, query: str | None = None, nonce: str | None = None) -> str:
        """
        Return a signed JWT.

        Parameters
        ----------
        query : str, optional
            The unencoded query (or body-as-query) string; when non-empty its SHA-512 is included.
        nonce : str, optional
            The nonce; default a fresh one from the nonce factory.

        """
        payload: dict[str, str] = {
            "access_key": self._access_key,
            "nonce": nonce if nonce is not None else self._nonce_factory(),
        }
        if query:
            payload["query_hash"] = query_hash(query)
            payload["query_hash_alg"] = "SHA512"
        signing_input = f"{self._header}.{_b64url(_compact_json(payload))}"
        signature = hmac.new(self._secret, signing_input.encode(), self._digest).digest()
        return f"{signing_input}.{_b64url(signature)}"

    def authorization(self, query: str | None = None) -> str:
        """Return the ``Authorization`` header value for a request with ``query``."""
        return f"Bearer {self.token(query)}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(access_key={mask_key(self._access_key)}, {self._algorithm.value})"
