"""PostgreSQL goes away mid-run: rows are kept (never dropped), Redis keeps taking values, and the rows land
once PostgreSQL answers again."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import redis

from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.validate import decode_pair_snapshot
from arb_plugin.state.writer import Batch
from arb_plugin.state.writer import StateWriter

from .conftest import StallingProxy
from .conftest import make_store
from .conftest import pg_fetch

pytestmark = pytest.mark.integration


def test_rows_survive_a_postgres_outage(schema: str, pg_dsn: str, redis_url: str, session_keys: KeyBuilder) -> None:
    target = urlsplit(pg_dsn)
    proxy = StallingProxy(target.hostname or "127.0.0.1", target.port or 5432)
    dsn = pg_dsn.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    problems: list[str] = []
    store = make_store(session_keys, redis_url, dsn, schema, problems)
    writer = StateWriter(store, heartbeat_interval_secs=60, on_problem=problems.append)
    client = redis.Redis.from_url(redis_url)
    try:
        writer.start()
        writer.call(lambda: store.start_session("live", None, 30))

        def transition(ts: int) -> None:
            batch = Batch()
            batch.add(store.pair_snapshot_write(PairSnapshot(symbol="BTCUSDT", status=PairStatus.OPEN, ts_event=ts)))
            writer.submit(batch)
            writer.drain()

        transition(1)
        proxy.cut()  # PostgreSQL "dies": pooled connections drop, new ones are refused
        for ts in range(2, 6):
            transition(ts)
        assert store.pending_rows == 4  # kept, not dropped
        assert any("rows kept for retry" in p for p in problems)
        # Redis kept taking the values meanwhile.
        assert decode_pair_snapshot(client.get(session_keys(Domain.SNAPSHOT, "BTCUSDT"))).ts_event == 5

        proxy.restore()
        transition(6)  # the next write carries the kept rows with it
        assert store.pending_rows == 0
    finally:
        writer.stop()
        proxy.close()
        client.close()
    rows = pg_fetch(
        pg_dsn,
        schema,
        "SELECT ts_event FROM position_snapshots WHERE session_id = $1 AND kind = 'SNAPSHOT' ORDER BY id",
        session_keys.session_id,
    )
    assert [r["ts_event"] for r in rows] == [1, 2, 3, 4, 5, 6]
