"""The METRICS flush against the real Redis: one batch, portfolio and per-symbol keys, TTL 120 s."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
import redis

from arb_plugin.observability.metrics import MetricsSnapshot
from arb_plugin.observability.metrics import RedisMetricsSink
from arb_plugin.observability.metrics import RollingMetrics
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder

pytestmark = pytest.mark.integration
S = 1_000_000_000


def test_flush_writes_metrics_keys_with_ttl(
    redis_url: str, unique_id: str, redis_client: redis.Redis,
) -> None:
    rolling = RollingMetrics(60)
    rolling.record_trade(1_700_000_000 * S, count=3)
    snap = rolling.snapshot(1_700_000_001 * S)
    per_symbol = {"BTCUSDT": snap, "ETHUSDT": RollingMetrics(60).snapshot(1_700_000_001 * S)}

    async def flush() -> None:
        sink = RedisMetricsSink(redis_url, "dev", unique_id)
        await sink.publish(snap, per_symbol)
        await sink.close()

    asyncio.run(flush())
    keys = KeyBuilder("dev", unique_id)
    key = keys(Domain.METRICS)
    stored = msgspec.json.decode(redis_client.get(key), type=MetricsSnapshot)
    assert stored == snap
    assert stored.trades_per_minute == 3
    assert 115 <= redis_client.ttl(key) <= 120
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert 115 <= redis_client.ttl(keys(Domain.METRICS, symbol)) <= 120
    eth = msgspec.json.decode(redis_client.get(keys(Domain.METRICS, "ETHUSDT")), type=MetricsSnapshot)
    assert eth.trades_per_minute == 0
