"""The signed HTTP client against the fake venue: JWT verified server-side, metering, 429/418, timeouts."""

from __future__ import annotations

import asyncio
import logging

import pytest
from nautilus_trader.common.component import LiveClock

from adapters.upbit.enums import UpbitJwtAlgorithm
from adapters.upbit.enums import UpbitOrderSide
from adapters.upbit.enums import UpbitOrderType
from adapters.upbit.http.account import UpbitAccountHttpAPI
from adapters.upbit.http.client import UpbitHttpClient
from adapters.upbit.http.error import UpbitClientError
from adapters.upbit.http.error import UpbitNetworkError
from adapters.upbit.http.error import UpbitRateLimitError
from adapters.upbit.http.market import UpbitMarketHttpAPI
from adapters.upbit.http.order import UpbitOrderHttpAPI
from adapters.upbit.http.ratelimit import UpbitRateLimiter
from tests.fakes.upbit import DEFAULT_ACCESS_KEY
from tests.fakes.upbit import DEFAULT_SECRET_KEY
from tests.fakes.upbit import FakeUpbitServer

pytestmark = pytest.mark.integration


def _client(fake: FakeUpbitServer, **kwargs: object) -> UpbitHttpClient:
    return UpbitHttpClient(
        LiveClock(),
        fake.base_url_http,
        kwargs.pop("access_key", DEFAULT_ACCESS_KEY),  # type: ignore[arg-type]
        kwargs.pop("secret_key", DEFAULT_SECRET_KEY),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("algorithm", [UpbitJwtAlgorithm.HS512, UpbitJwtAlgorithm.HS256])
def test_signed_requests_pass_server_verification(algorithm: UpbitJwtAlgorithm) -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            client = _client(fake, jwt_algorithm=algorithm)
            try:
                orders = UpbitOrderHttpAPI(client)
                fake.exchange.set_balance("KRW", "1000000")
                body = orders.order_body("KRW-BTC", UpbitOrderSide.BID, UpbitOrderType.LIMIT, "0.0005", "10000000")
                await orders.new_order(body)  # POST: hash of the body in body order
                await orders.query_open_orders(market="KRW-BTC", states=("wait", "watch"))  # states[] repeated
                await orders.query_closed_orders(start_time=1, end_time=2**40)
                await UpbitAccountHttpAPI(client).query_accounts()  # no parameters: no query_hash
                assert fake.verifier.algorithms_seen == [algorithm.value] * 4
                open_req = fake.requests_to("/v1/orders/open")[0]
                assert "states%5B%5D=wait&states%5B%5D=watch" in open_req.raw_query  # encoded on the wire
                assert all("Origin" not in r.headers for r in fake.requests)
            finally:
                await client.close()

    asyncio.run(run())


def test_server_rejections_are_mapped_to_upbit_error_names() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            bad = _client(fake, access_key="nope-access-key")
            good = _client(fake)
            try:
                with pytest.raises(UpbitClientError) as info:
                    await UpbitAccountHttpAPI(bad).query_accounts()
                assert info.value.error_name == "invalid_access_key"
                assert info.value.status == 401
                with pytest.raises(UpbitClientError) as info:
                    await UpbitMarketHttpAPI(good).query_tickers(["KRW-NOPE"])
                assert info.value.error_name == "404"  # quotation errors name the HTTP status
                orders = UpbitOrderHttpAPI(good)
                with pytest.raises(UpbitClientError) as info:
                    await orders.query_order(uuid="00000000-0000-0000-0000-000000000000")
                assert info.value.error_name == "order_not_found"
            finally:
                await bad.close()
                await good.close()

    asyncio.run(run())


def test_remaining_req_meters_each_group() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            limiter = UpbitRateLimiter()
            client = _client(fake, rate_limiter=limiter)
            try:
                market = UpbitMarketHttpAPI(client)
                # 15 orderbook calls: the prior (10/s) and the server's `sec` count keep the client under
                # the server's limit, so it never sees a 429
                for _ in range(15):
                    await market.query_orderbooks(["KRW-BTC"])
                assert all(r.status == 200 for r in fake.requests)
                assert limiter.waits >= 1
                await UpbitAccountHttpAPI(client).query_accounts()
                assert fake.requests[-1].group == "default"
            finally:
                await client.close()

    asyncio.run(run())


def test_429_backs_off_then_retries_a_get(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            client = _client(fake)
            try:
                fake.fail_next("/v1/accounts", status=429)
                accounts = await UpbitAccountHttpAPI(client).query_accounts()
                assert accounts[0].currency == "KRW"
                first, second = fake.requests_to("/v1/accounts")
                assert (first.status, second.status) == (429, 200)
                assert second.ts - first.ts >= 1.0  # hard back-off of at least a second
            finally:
                await client.close()

    asyncio.run(run())


def test_429_on_an_order_is_not_retried_by_the_http_client() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            client = _client(fake)
            try:
                fake.fail_next("/v1/orders", status=429, method="POST")
                orders = UpbitOrderHttpAPI(client)
                body = orders.order_body("KRW-BTC", UpbitOrderSide.ASK, UpbitOrderType.MARKET, volume="0.001")
                with pytest.raises(UpbitRateLimitError) as info:
                    await orders.new_order(body)
                assert info.value.status == 429
                assert info.value.message == "Too many API requests."
                assert len(fake.requests_to("/v1/orders")) == 1
                assert client.rate_limiter.blocked_for("order") > 0.5
            finally:
                await client.close()

    asyncio.run(run())


def test_server_count_keeps_a_client_with_wrong_priors_under_the_limit() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            # a misconfigured prior (100/s) is corrected by the server's own `sec` count
            client = _client(fake, rate_limiter=UpbitRateLimiter(priors={"order-test": 100.0}), max_retries=0)
            try:
                orders = UpbitOrderHttpAPI(client)
                fake.exchange.set_balance("KRW", "1000000")
                body = orders.order_body("KRW-BTC", UpbitOrderSide.BID, UpbitOrderType.LIMIT, "0.0005", "10000000")
                for _ in range(12):
                    await orders.test_order(body)
                assert [r.status for r in fake.requests] == [201] * 12
                assert client.rate_limiter.waits >= 1
            finally:
                await client.close()

    asyncio.run(run())


def test_418_blocks_the_group_for_the_period_in_the_body() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            client = _client(fake, max_retries=0)
            try:
                body = "요청 수 제한을 초과하여 2초 동안 차단되었습니다.".encode()
                fake.fail_next("/v1/accounts", status=418, body=body)
                with pytest.raises(UpbitRateLimitError) as info:
                    await UpbitAccountHttpAPI(client).query_accounts()
                assert info.value.status == 418
                assert info.value.block_secs == 2.0
                assert client.rate_limiter.blocked_for("default") > 1.5
                assert client.rate_limiter.blocked_for("order") == 0.0
                await UpbitAccountHttpAPI(client).query_accounts()  # waits out the block, then succeeds
                first, second = fake.requests_to("/v1/accounts")
                assert second.ts - first.ts >= 2.0
            finally:
                await client.close()

    asyncio.run(run())


def test_timeout_is_an_ambiguous_network_error() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            client = _client(fake, timeout_secs=0.3)
            try:
                fake.exchange.set_balance("KRW", "1000000")
                fake.delay_next("/v1/orders", 1.0, method="POST", execute=True)
                orders = UpbitOrderHttpAPI(client)
                body = orders.order_body(
                    "KRW-BTC",
                    UpbitOrderSide.BID,
                    UpbitOrderType.LIMIT,
                    "0.0005",
                    "10000000",
                    identifier="ambiguous-1",
                )
                with pytest.raises(UpbitNetworkError) as info:
                    await orders.new_order(body)
                assert info.value.is_ambiguous
                await asyncio.sleep(0.8)
                found = await orders.query_order(identifier="ambiguous-1")  # it was created
                assert found.identifier == "ambiguous-1"
            finally:
                await client.close()

    asyncio.run(run())


def test_secrets_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            client = _client(fake)
            try:
                fake.fail_next("/v1/accounts", status=429)
                await UpbitAccountHttpAPI(client).query_accounts()
                assert DEFAULT_ACCESS_KEY not in client.access_key_masked
                assert DEFAULT_SECRET_KEY not in repr(client.signer)
            finally:
                await client.close()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(run())
    assert DEFAULT_SECRET_KEY not in caplog.text
