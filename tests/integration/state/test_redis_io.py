"""The store's Redis write path against the real Redis: one MULTI/EXEC per batch, its reply checked as bytes."""

from __future__ import annotations

import asyncio

import pytest
import redis
from redis.exceptions import ResponseError

from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.redis_io import MAX_KEYS_PER_CALL
from arb_plugin.state.redis_io import RedisIO
from arb_plugin.state.redis_io import expected_reply
from arb_plugin.state.redis_io import first_error


def test_expected_reply_and_first_error() -> None:
    assert expected_reply(2) == b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+OK\r\n"
    assert first_error(expected_reply(3)) is None
    assert first_error(b"+OK\r\n+QUEUED\r\n*2\r\n+OK\r\n-ERR invalid expire time\r\n") == "ERR invalid expire time"
    assert first_error(b"+OK\r\n-OOM command not all") is None  # incomplete line: read on


def _run(coro_fn):  # type: ignore[no-untyped-def]
    return asyncio.run(coro_fn())


class ParsedRepliesIO(RedisIO):
    """The write path a redis-py release without the connection's stream attribute takes: its own parser."""

    @staticmethod
    def _stream(conn: object) -> None:
        return None


@pytest.fixture(params=[RedisIO, ParsedRepliesIO], ids=["raw-reply", "parsed-replies"])
def io_class(request: pytest.FixtureRequest) -> type[RedisIO]:
    io_class: type[RedisIO] = request.param
    return io_class


def test_the_raw_reply_is_read_from_redis_py_s_stream(redis_url: str, session_keys: KeyBuilder) -> None:
    async def run() -> None:
        io = RedisIO(redis_url, 2, 2.0)
        try:
            await io.set_many([(session_keys(Domain.STATE, "AAAUSDT", "position"), b"1", 60)])
            assert io._stream(io._write_conn) is not None  # else every flush takes the slower parsed way
        finally:
            await io.close()

    _run(run)


def test_set_many_writes_every_value_with_its_ttl(
    redis_url: str, session_keys: KeyBuilder, io_class: type[RedisIO]
) -> None:
    items = [(session_keys(Domain.STATE, f"S{i:04d}USDT", "position"), b'{"i":%d}' % i, 3_600) for i in range(250)]
    items.append((session_keys(Domain.COOLDOWN, "S0000USDT"), b'{"scope":"S0000USDT"}', 17))

    async def run() -> None:
        io = io_class(redis_url, 2, 2.0)
        try:
            await io.set_many(items)
            await io.set_many(items[:3])  # the held connection is reused
        finally:
            await io.close()

    _run(run)
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.mget([k for k, _, _ in items]) == [v for _, v, _ in items]
        ttls = [client.ttl(k) for k, _, _ in items]
        assert all(3_590 <= t <= 3_600 for t in ttls[:-1]), ttls[:5]
        assert 7 <= ttls[-1] <= 17
    finally:
        client.close()


def test_a_batch_larger_than_one_call_is_split_and_fully_written(
    redis_url: str, session_keys: KeyBuilder, io_class: type[RedisIO]
) -> None:
    n = MAX_KEYS_PER_CALL * 2 + 7
    items = [(session_keys(Domain.METRICS, f"S{i:05d}USDT"), b"%d" % i, 120) for i in range(n)]
    seen: list[int] = []

    async def run() -> None:
        io = io_class(redis_url, 2, 2.0)
        try:
            await io.set_many(items, overlap=lambda: seen.append(1))
        finally:
            await io.close()

    _run(run)
    assert seen == [1]  # called once, whatever the number of calls
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.mget([k for k, _, _ in items]) == [v for _, v, _ in items]
        assert client.ttl(items[-1][0]) > 100
    finally:
        client.close()


def test_a_refused_command_raises_and_the_next_batch_still_works(
    redis_url: str, session_keys: KeyBuilder, io_class: type[RedisIO]
) -> None:
    good = session_keys(Domain.STATE, "AAAUSDT", "position")
    bad = session_keys(Domain.STATE, "BBBUSDT", "position")

    async def run() -> None:
        io = io_class(redis_url, 2, 2.0)
        try:
            with pytest.raises(ResponseError, match="invalid expire time"):
                await io.set_many([(good, b"1", 60), (bad, b"2", 0)])  # EX 0 is refused by Redis
            await io.set_many([(good, b"3", 60), (bad, b"4", 60)])
        finally:
            await io.close()

    _run(run)
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.mget([good, bad]) == [b"3", b"4"]
    finally:
        client.close()


def test_concurrent_batches_do_not_mix_replies(
    redis_url: str, session_keys: KeyBuilder, io_class: type[RedisIO]
) -> None:
    keys = [session_keys(Domain.STATE, f"C{i:03d}USDT", "position") for i in range(50)]

    async def run() -> None:
        io = io_class(redis_url, 2, 2.0)
        try:
            await asyncio.gather(*(io.set_many([(k, b"%d" % j, 60) for k in keys]) for j in range(20)))
        finally:
            await io.close()

    _run(run)
    client = redis.Redis.from_url(redis_url)
    try:
        values = client.mget(keys)
        assert len(set(values)) == 1 and values[0] is not None  # one whole batch won: each batch is atomic
    finally:
        client.close()
