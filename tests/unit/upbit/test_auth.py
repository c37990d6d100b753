"""JWT signing reproduces the worked example of upbit-api.md §2.1 byte for byte (values read from the doc)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from adapters.upbit.auth import UpbitSigner
from adapters.upbit.auth import encode_query
from adapters.upbit.auth import flatten_params
from adapters.upbit.auth import hash_input
from adapters.upbit.auth import query_hash
from adapters.upbit.enums import UpbitJwtAlgorithm


def _section(shared_dir: Path) -> str:
    text = (shared_dir / "reference" / "upbit-api.md").read_text(encoding="utf-8")
    start = text.index("### 2.1 Worked example")
    return text[start : text.index("Cross-checks run by the script", start)]


@pytest.fixture(scope="module")
def example(shared_dir: Path) -> dict[str, str]:
    doc = _section(shared_dir)
    out = {
        "access_key": re.search(r"access_key `([^`]+)`", doc).group(1),
        "nonce": re.search(r"nonce\s+`([0-9a-f-]{36})`", doc).group(1),
        "secret": re.search(r"secret\s+`([^`]+)`", doc).group(1),
    }
    for case in "abcd":
        block = re.search(rf"\({case}\)(.*?)(?=\n\([a-d]\) |\Z)", doc, re.S).group(1)
        for key, pattern in (
            ("hs256", r"HS256: (\S+)"),
            ("hs512", r"HS512: (\S+)"),
            ("hs256_sig", r"HS256 signature part: (\S+)"),
            ("hs512_sig", r"HS512 signature part: (\S+)"),
            ("hashed", r"hashed string : (\S+)"),
            ("query_hash", r"query_hash\s*: ([0-9a-f]{128})"),
        ):
            match = re.search(pattern, block)
            if match:
                out[f"{case}_{key}"] = match.group(1)
    return out


def _signer(example: dict[str, str], algorithm: UpbitJwtAlgorithm) -> UpbitSigner:
    return UpbitSigner(example["access_key"], example["secret"], algorithm)


@pytest.mark.parametrize("algorithm", [UpbitJwtAlgorithm.HS256, UpbitJwtAlgorithm.HS512])
def test_no_params_token_matches_worked_example(example: dict[str, str], algorithm: UpbitJwtAlgorithm) -> None:
    token = _signer(example, algorithm).token(None, nonce=example["nonce"])
    assert token == example[f"a_{algorithm.value.lower()}"]


@pytest.mark.parametrize("algorithm", [UpbitJwtAlgorithm.HS256, UpbitJwtAlgorithm.HS512])
def test_array_query_token_matches_worked_example(example: dict[str, str], algorithm: UpbitJwtAlgorithm) -> None:
    pairs = flatten_params({"market": "KRW-BTC", "states[]": ["wait", "watch"], "limit": 10})
    assert hash_input(pairs) == example["b_hashed"]
    assert query_hash(hash_input(pairs)) == example["b_query_hash"]
    token = _signer(example, algorithm).token(hash_input(pairs), nonce=example["nonce"])
    assert token == example[f"b_{algorithm.value.lower()}"]
    # the wire form is percent-encoded; only the hash input is not
    assert encode_query(pairs) == "market=KRW-BTC&states%5B%5D=wait&states%5B%5D=watch&limit=10"


@pytest.mark.parametrize("algorithm", [UpbitJwtAlgorithm.HS256, UpbitJwtAlgorithm.HS512])
def test_post_body_token_matches_worked_example(example: dict[str, str], algorithm: UpbitJwtAlgorithm) -> None:
    body = {"market": "KRW-BTC", "side": "bid", "volume": "0.01", "price": "100.0", "ord_type": "limit"}
    hashed = hash_input(body.items())
    assert hashed == example["c_hashed"]
    assert query_hash(hashed) == example["c_query_hash"]
    token = _signer(example, algorithm).token(hashed, nonce=example["nonce"])
    assert token.rsplit(".", 1)[1] == example[f"c_{algorithm.value.lower()}_sig"]


def test_repeated_key_delete_query_hash_matches_worked_example(example: dict[str, str]) -> None:
    uuids = ["2adc81d8-5497-403f-826e-3ce93af457cf", "c8f748a1-4b03-428e-8b58-1eec1d87acc9"]
    pairs = flatten_params({"uuids[]": uuids})
    assert query_hash(hash_input(pairs)) == example["d_query_hash"]


def test_token_payload_claims_and_fresh_nonce() -> None:
    signer = UpbitSigner("ak", "sk")
    first, second = signer.token("a=1"), signer.token("a=1")
    assert first != second  # a fresh nonce per token (a reused one is refused with nonce_used)
    payload = json.loads(base64.urlsafe_b64decode(first.split(".")[1] + "=="))
    assert list(payload) == ["access_key", "nonce", "query_hash", "query_hash_alg"]
    assert payload["query_hash_alg"] == "SHA512"
    assert json.loads(base64.urlsafe_b64decode(first.split(".")[0] + "=="))["alg"] == "HS512"
    assert "query_hash" not in json.loads(base64.urlsafe_b64decode(signer.token(None).split(".")[1] + "=="))


def test_params_flattening_rules() -> None:
    pairs = flatten_params(
        {
            "markets": ["KRW-BTC", "KRW-ETH"],
            "uuids[]": ["a", "b"],
            "skip": None,
            "flag": True,
            "to": "10:00+09",
        },
    )
    assert pairs == [
        ("markets", "KRW-BTC,KRW-ETH"),
        ("uuids[]", "a"),
        ("uuids[]", "b"),
        ("flag", "true"),
        ("to", "10:00+09"),
    ]
    # values with ':' and '+' must be escaped on the wire (else 400 "Invalid parameter")
    assert "to=10%3A00%2B09" in encode_query(pairs)
    assert "markets=KRW-BTC,KRW-ETH" in encode_query(pairs)


def test_signer_repr_hides_the_keys() -> None:
    signer = UpbitSigner("a7Xd92LmQW3vBtRzYpMj5CxNKeT1HuVs0fFgJcAw", "very-secret-value-123")
    text = repr(signer)
    assert "very-secret" not in text
    assert "a7Xd92LmQW3vBtRzYpMj5CxNKeT1HuVs0fFgJcAw" not in text


def test_signer_needs_both_keys() -> None:
    with pytest.raises(ValueError, match="access key and secret key"):
        UpbitSigner("ak", "")
