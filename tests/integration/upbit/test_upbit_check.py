"""``arb upbit-check`` against the fake venue (run in a background thread: the command owns its loop)."""

from __future__ import annotations

import argparse

import pytest

from arb_plugin.commands import upbit_check
from tests.fakes.upbit import DEFAULT_ACCESS_KEY
from tests.fakes.upbit import DEFAULT_SECRET_KEY
from tests.fakes.upbit import fixtures
from tests.fakes.upbit.threaded import fake_upbit_in_thread

pytestmark = pytest.mark.integration


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="arb")
    parser.add_argument("--env", default=None)
    parser.add_argument("--config-dir", default=None)
    upbit_check.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["upbit-check", *argv])


def test_read_only_check_passes_with_good_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UPBIT_ACCESS_KEY", DEFAULT_ACCESS_KEY)
    monkeypatch.setenv("UPBIT_SECRET_KEY", DEFAULT_SECRET_KEY)
    with fake_upbit_in_thread() as fake:
        args = _args("--base-url", fake.server.base_url_http)
        assert args.func(args) == 0
        paths = [(r.method, r.path) for r in fake.server.requests]
    out = capsys.readouterr().out
    assert "OK   accounts: 1 currencies: KRW 50000.47088291" in out
    assert "OK   orders/chance KRW-BTC: state active, fees taker 0.0005" in out
    assert "min total 5000 KRW" in out
    assert "OK   clock skew: local clock" in out
    assert ("POST", "/v1/orders/test") not in paths  # read-only unless asked
    assert all(method == "GET" for method, _ in paths)
    assert DEFAULT_SECRET_KEY not in out
    assert DEFAULT_ACCESS_KEY not in out  # masked


def test_test_order_validates_without_creating(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UPBIT_ACCESS_KEY", DEFAULT_ACCESS_KEY)
    monkeypatch.setenv("UPBIT_SECRET_KEY", DEFAULT_SECRET_KEY)
    with fake_upbit_in_thread() as fake:
        fake.server.exchange.set_balance("KRW", "1000000")
        args = _args("--base-url", fake.server.base_url_http, "--test-order", "--jwt-alg", "HS256")
        assert args.func(args) == 0
        (posted,) = fake.server.requests_to("/v1/orders/test", "POST")
        assert not fake.server.exchange.orders  # validated, not placed
        assert fake.server.verifier.algorithms_seen[-1] == "HS256"
    body = posted.body
    price = int(body["price"])
    assert price % 1000 == 0 and price < fixtures.recorded_book_units()[0]["bid_price"]  # on the tick grid, below
    assert price * float(body["volume"]) >= 5000
    assert "OK   orders/test" in capsys.readouterr().out


def test_ip_not_allow_listed_is_explained(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("UPBIT_ACCESS_KEY", DEFAULT_ACCESS_KEY)
    monkeypatch.setenv("UPBIT_SECRET_KEY", "not-the-secret")
    with fake_upbit_in_thread() as fake:
        body = fixtures.error_body("no_authorization_ip", "This is not a verified IP.")
        fake.server.fail_next("/v1/accounts", status=401, body=body)
        args = _args("--base-url", fake.server.base_url_http)
        assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "FAIL accounts: no_authorization_ip" in out
    assert "allow-list" in out
    assert "FAIL orders/chance KRW-BTC: jwt_verification" in out  # the wrong secret
    assert "not-the-secret" not in out


def test_missing_keys_and_bad_arguments_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UPBIT_ACCESS_KEY", raising=False)
    monkeypatch.delenv("UPBIT_SECRET_KEY", raising=False)
    args = _args()
    with pytest.raises(upbit_check.UpbitCheckError, match="UPBIT_ACCESS_KEY and UPBIT_SECRET_KEY"):
        args.func(args)
    monkeypatch.setenv("UPBIT_ACCESS_KEY", "a")
    monkeypatch.setenv("UPBIT_SECRET_KEY", "b")
    args = _args("--market", "krw-btc")
    with pytest.raises(upbit_check.UpbitCheckError, match="QUOTE-BASE"):
        args.func(args)
