"""
``arb upbit-check``: check Upbit API keys before trading with them.

Read-only by default: balances (``GET /v1/accounts``), the order rules and fees of one market
(``GET /v1/orders/chance``), the rate-limit budget Upbit reports and the local clock against Upbit's. With
``--test-order`` it also validates a minimum limit bid far below the market with ``POST /v1/orders/test``,
which checks the order permission without creating an order. Keys come from ``UPBIT_ACCESS_KEY`` /
``UPBIT_SECRET_KEY`` only and are never printed (the access key is shown masked).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any

from arb_plugin.errors import ArbPluginError


class UpbitCheckError(ArbPluginError):
    """``arb upbit-check`` cannot run (missing keys, bad arguments)."""


# What an Upbit error name means for someone setting up keys (docs: upbit-api.md §4).
HINTS = {
    "invalid_access_key": "Upbit does not know this access key: check UPBIT_ACCESS_KEY (keys last 1 year)",
    "expired_access_key": "the key has expired (Upbit keys are valid for 1 year): issue a new one",
    "jwt_verification": "the signature does not verify: check UPBIT_SECRET_KEY (used as issued, not decoded)",
    "no_authorization_ip": (
        "this machine's public IP is not on the key's allow-list: add it in Upbit > My Page > Open API "
        "management (up to 10 IPs per key)"
    ),
    "out_of_scope": "the key lacks the permission this call needs: enable it in Open API management",
    "nonce_used": "a nonce was reused (should not happen: each request gets a fresh one)",
    "invalid_query_payload": "the query hash did not match (report this: the adapter signs every query)",
    "no_authorization_token": "no Authorization header was sent",
}


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "upbit-check",
        help="check Upbit API keys: balances, order rules, clock skew (read-only by default)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--market", default="KRW-BTC", help="market for orders/chance (default KRW-BTC)")
    parser.add_argument(
        "--base-url",
        default=None,
        help="REST base URL (default: [venues.upbit] base_url_http from the settings, else https://api.upbit.com)",
    )
    parser.add_argument("--jwt-alg", choices=("HS512", "HS256"), default=None, help="JWT algorithm (default HS512)")
    parser.add_argument(
        "--test-order",
        action="store_true",
        help="also validate a minimum limit bid with POST /v1/orders/test (no order is created)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="request timeout in seconds (default 10)")
    parser.set_defaults(func=run)


def _settings_defaults(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """Return ``(base_url_http, jwt_algorithm)`` from the settings, when they can be loaded."""
    from arb_plugin.settings import load_settings

    try:
        settings = load_settings(getattr(args, "env", None), getattr(args, "config_dir", None))
    except ArbPluginError:
        return None, None
    upbit = settings.venues.upbit
    return upbit.base_url_http, getattr(upbit, "jwt_algorithm", None)


def run(args: argparse.Namespace) -> int:
    """Run the checks, print one line per check; exit status 0 when every check passed, else 1."""
    access_key = os.environ.get("UPBIT_ACCESS_KEY") or None
    secret_key = os.environ.get("UPBIT_SECRET_KEY") or None
    if not access_key or not secret_key:
        raise UpbitCheckError(
            "set UPBIT_ACCESS_KEY and UPBIT_SECRET_KEY in the environment "
            "(keys are never read from files or command-line arguments)",
        )
    if not args.market or args.market.upper() != args.market or "-" not in args.market:
        raise UpbitCheckError(f"--market {args.market!r}: must be an Upbit pair code QUOTE-BASE, e.g. KRW-BTC")
    if args.timeout <= 0:
        raise UpbitCheckError(f"--timeout {args.timeout}: must be a positive number of seconds")
    base_url, algorithm = _settings_defaults(args)
    results = asyncio.run(
        _run_checks(
            access_key=access_key,
            secret_key=secret_key,
            base_url=args.base_url or base_url,
            algorithm=args.jwt_alg or algorithm or "HS512",
            market=args.market,
            test_order=args.test_order,
            timeout=args.timeout,
        ),
    )
    for result in results:
        print(f"{'OK  ' if result.ok else 'FAIL'} {result.name}: {result.detail}")
    failed = [r for r in results if not r.ok]
    print(f"\n{len(results) - len(failed)}/{len(results)} checks passed")
    return 1 if failed else 0


def _explain(error: Exception) -> str:
    from adapters.upbit.http.error import UpbitError

    if isinstance(error, UpbitError):
        hint = HINTS.get(error.error_name)
        return f"{error}" + (f" -> {hint}" if hint else "")
    return repr(error)


async def _run_checks(
    access_key: str,
    secret_key: str,
    base_url: str | None,
    algorithm: str,
    market: str,
    test_order: bool,
    timeout: float,
) -> list[CheckResult]:
    from decimal import ROUND_CEILING
    from decimal import ROUND_FLOOR
    from decimal import Decimal

    from nautilus_trader.common.component import LiveClock

    from adapters.upbit.constants import UPBIT_BASE_URL_HTTP
    from adapters.upbit.enums import UpbitJwtAlgorithm
    from adapters.upbit.enums import UpbitOrderSide
    from adapters.upbit.enums import UpbitOrderType
    from adapters.upbit.http.account import UpbitAccountHttpAPI
    from adapters.upbit.http.client import UpbitHttpClient
    from adapters.upbit.http.error import UpbitError
    from adapters.upbit.http.market import UpbitMarketHttpAPI
    from adapters.upbit.http.order import UpbitOrderHttpAPI
    from adapters.upbit.parsing import format_decimal
    from adapters.upbit.tick_scheme import round_krw_price

    client = UpbitHttpClient(
        LiveClock(),
        base_url or UPBIT_BASE_URL_HTTP,
        access_key,
        secret_key,
        jwt_algorithm=UpbitJwtAlgorithm(algorithm),
        timeout_secs=timeout,
        max_retries=1,
    )
    results = [CheckResult("key", True, f"access key {client.access_key_masked}, {algorithm}, {client.base_url}")]
    account = UpbitAccountHttpAPI(client)
    try:
        sent = time.time()
        try:
            balances = await account.query_accounts()
            received = time.time()
            held = ", ".join(
                f"{b.currency} {format_decimal(b.balance)} (+{format_decimal(b.locked)} locked)" for b in balances
            )
            results.append(CheckResult("accounts", True, f"{len(balances)} currencies: {held or 'none'}"))
        except UpbitError as e:
            received = time.time()
            results.append(CheckResult("accounts", False, _explain(e)))

        if client.last_server_time_ms is not None:
            local_ms = (sent + received) / 2 * 1000
            skew = (local_ms - client.last_server_time_ms) / 1000
            ok = abs(skew) < 5.0
            detail = f"local clock {skew:+.1f} s against Upbit's Date header (1 s resolution)"
            if not ok:
                detail += " -> sync the clock (NTP); timestamps in logs and reports depend on it"
            results.append(CheckResult("clock skew", ok, detail))
        else:
            results.append(CheckResult("clock skew", False, "no Date header in Upbit's answer"))

        chance = None
        try:
            chance = await account.query_order_chance(market)
            m = chance.market
            results.append(
                CheckResult(
                    f"orders/chance {market}",
                    m.state in (None, "active"),
                    f"state {m.state}, fees taker {chance.taker_fee} maker {chance.maker_fee}, "
                    f"min total {m.bid.min_total} {m.bid.currency}, max total {m.max_total}, "
                    f"bid types {','.join(m.bid_types)}, ask types {','.join(m.ask_types)}",
                ),
            )
        except UpbitError as e:
            results.append(CheckResult(f"orders/chance {market}", False, _explain(e)))

        group = client.rate_limiter
        results.append(
            CheckResult(
                "rate limits",
                True,
                f"order group {group.rate_per_sec('order'):g}/s (8/s, 12/s from 2026-08-21 21:00 KST), "
                f"default group {group.rate_per_sec('default'):g}/s; the adapter meters by Remaining-Req",
            ),
        )

        if test_order:
            try:
                book = (await UpbitMarketHttpAPI(client).query_orderbooks([market], count=1))[0]
                best_bid = book.orderbook_units[0].bid_price
                quote = market.split("-", 1)[0]
                if quote == "KRW":
                    price = round_krw_price(best_bid * Decimal("0.8"), "down")
                else:
                    tick = (await UpbitMarketHttpAPI(client).query_orderbook_instruments([market]))[0].tick_size
                    price = (best_bid * Decimal("0.8") / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
                min_total = chance.market.bid.min_total if chance is not None else Decimal(5000)
                volume = (min_total / price).quantize(Decimal("0.00000001"), rounding=ROUND_CEILING)
                orders = UpbitOrderHttpAPI(client)
                body = orders.order_body(
                    market,
                    UpbitOrderSide.BID,
                    UpbitOrderType.LIMIT,
                    volume=format_decimal(volume),
                    price=format_decimal(price),
                )
                validated = await orders.test_order(body)
                results.append(
                    CheckResult(
                        "orders/test",
                        True,
                        f"a {format_decimal(volume)} @ {format_decimal(price)} limit bid validates "
                        f"(state {validated.state.value}; POST /v1/orders/test creates no order)",
                    ),
                )
            except UpbitError as e:
                results.append(CheckResult("orders/test", False, _explain(e)))
    finally:
        await client.close()
    return results
