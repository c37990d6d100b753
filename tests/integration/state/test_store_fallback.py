"""
StateStore fallback: a private redis-server is killed mid-run and restarted.

While Redis is gone every write reaches PostgreSQL and reads stay correct (for the writer, from memory; for
a second store with no memory, from PostgreSQL). When Redis returns it is re-seeded with the latest values.
No write is lost: every durable snapshot is a row, every write made during the outage is a row, and Redis
ends with the latest value of every key.
"""

from __future__ import annotations

import asyncio
import threading
import time

import msgspec
import pytest

from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.records import KeyWrite
from arb_plugin.state.validate import decode_pair_snapshot

from .conftest import RedisServer
from .conftest import make_store
from .conftest import pg_fetch

pytestmark = pytest.mark.integration

SYMBOLS = ("BTCUSDT", "ETHUSDT", "XRPUSDT", "SOLUSDT")


def _position(symbol: str, step: int) -> bytes:
    return msgspec.json.encode({"symbol": symbol, "step": step, "qty": f"0.{step:04d}"})


def test_redis_killed_mid_run_then_restarted_loses_no_write(
    redis_server: RedisServer,
    schema: str,
    pg_dsn: str,
    session_keys: KeyBuilder,
) -> None:
    problems: list[str] = []
    store = make_store(
        session_keys, redis_server.url, pg_dsn, schema, problems, redis_timeout_ms=200, redis_retry_secs=0.05
    )
    # The second reader probes Redis on every read while it is away (retry 0): a reader with a retry of N
    # seconds may read PostgreSQL for up to N seconds after Redis is back (see StateStore's docstring).
    reader = make_store(
        session_keys, redis_server.url, pg_dsn, schema, [], redis_timeout_ms=200, redis_retry_secs=0.0
    )
    phases: dict[str, float] = {}

    def chaos() -> None:
        time.sleep(0.6)
        phases["killed"] = time.monotonic()  # (set first: the reads below look at it)
        redis_server.kill()  # SIGKILL: no clean shutdown, nothing persisted
        time.sleep(0.8)
        redis_server.start()  # same port, empty
        phases["restarted"] = time.monotonic()

    async def run() -> tuple[int, list[int]]:
        await store.connect()
        await reader.connect()
        await store.start_session("backtest", None, 30)
        thread = threading.Thread(target=chaos)
        started = time.monotonic()
        thread.start()
        step = 0
        outage_steps: list[int] = []
        reads_checked = 0
        while time.monotonic() - started < 2.4 or thread.is_alive():
            step += 1
            writes = []
            for symbol in SYMBOLS:
                snap = PairSnapshot(
                    symbol=symbol, status=PairStatus.OPEN, ts_event=step, quantity=f"{step}.5"
                )
                writes.append(store.pair_snapshot_write(snap))
                writes.append(KeyWrite(Domain.STATE, symbol, "position", _position(symbol, step)))
            await store.write(writes)
            if not store.redis_available:
                outage_steps.append(step)
            # A value Redis acknowledged and then lost in the kill is served by the writer (memory) and
            # reaches other readers once the writer notices (its next write copies its latest state to
            # PostgreSQL); only in that window is the fresh reader not asked.
            # Reads are correct throughout: the writer's own view and a fresh process's view.
            for symbol in SYMBOLS:
                for who in (store, reader):
                    snap = await who.read(Domain.SNAPSHOT, symbol, decode=decode_pair_snapshot)
                    raw = await who.read(Domain.STATE, symbol, "position")
                    # (judged after the reads: "killed" is set just before the kill)
                    unnoticed = "killed" in phases and "restarted" not in phases and store.redis_available
                    if who is reader and unnoticed:
                        continue
                    assert snap is not None and snap.ts_event == step, (who is store, symbol, step, snap)
                    # (PostgreSQL's JSONB normalises spacing and key order: compare the documents)
                    assert raw is not None and msgspec.json.decode(raw) == msgspec.json.decode(
                        _position(symbol, step),
                    ), (who is store, symbol, step, raw)
                    reads_checked += 1
            await asyncio.sleep(0.01)
        thread.join()
        # One more write after the restart so the writer probes and re-seeds.
        await asyncio.sleep(0.06)
        await store.maintain()
        await store.close()
        await reader.close()
        assert reads_checked > 0
        return step, outage_steps

    last, outage = asyncio.run(run())

    assert outage, "no write happened while Redis was down"
    assert store.stats["reseeds"] == 1 and store.stats["redis_failures"] >= 1
    assert any("Redis unreachable" in p for p in problems)
    assert any("re-seeded" in p for p in problems)

    # Redis holds the latest value of every key, with a TTL.
    client = redis_server.client()
    for symbol in SYMBOLS:
        snap_key = session_keys(Domain.SNAPSHOT, symbol)
        assert decode_pair_snapshot(client.get(snap_key)).ts_event == last
        assert 0 < client.ttl(snap_key) <= Domain.SNAPSHOT.ttl_secs
        pos_key = session_keys(Domain.STATE, symbol, "position")
        assert client.get(pos_key) == _position(symbol, last)
        assert 0 < client.ttl(pos_key) <= Domain.STATE.ttl_secs
    client.close()

    # Every durable snapshot is a row (whether Redis was up or not) ...
    rows = pg_fetch(
        pg_dsn,
        schema,
        "SELECT symbol, ts_event FROM position_snapshots WHERE session_id = $1 AND kind = 'SNAPSHOT'",
        session_keys.session_id,
    )
    for symbol in SYMBOLS:
        assert {r["ts_event"] for r in rows if r["symbol"] == symbol} >= set(range(1, last + 1))
    # ... and every write made while Redis was away is a row.
    fallback = pg_fetch(
        pg_dsn,
        schema,
        "SELECT symbol, data FROM position_snapshots WHERE session_id = $1 AND kind = 'STATE.position'",
        session_keys.session_id,
    )
    got = {(r["symbol"], msgspec.json.decode(r["data"])["step"]) for r in fallback}
    assert {(s, step) for s in SYMBOLS for step in outage} <= got


def test_redis_down_at_start_then_appears(
    tmp_path, schema: str, pg_dsn: str, session_keys: KeyBuilder
) -> None:
    server = RedisServer(tmp_path)  # not started yet: its port refuses connections
    problems: list[str] = []
    store = make_store(
        session_keys, server.url, pg_dsn, schema, problems, redis_timeout_ms=200, redis_retry_secs=0.05
    )

    async def run() -> None:
        await store.connect()
        assert not store.redis_available
        await store.start_session("live", None, 30)
        snap = PairSnapshot(symbol="BTCUSDT", status=PairStatus.ENTERING, ts_event=7)
        await store.write([store.pair_snapshot_write(snap)])
        assert (await store.read(Domain.SNAPSHOT, "BTCUSDT", decode=decode_pair_snapshot)) == snap
        server.start()
        await asyncio.sleep(0.06)
        await store.maintain()
        assert store.redis_available
        await store.close()

    try:
        asyncio.run(run())
        client = server.client()
        assert decode_pair_snapshot(client.get(session_keys(Domain.SNAPSHOT, "BTCUSDT"))).ts_event == 7
        assert client.get(session_keys(Domain.STATE)) is not None  # the SESSION key, re-seeded too
        client.close()
    finally:
        server.kill()


def test_a_redis_that_refuses_writes_is_treated_as_down(
    tmp_path, schema: str, pg_dsn: str, session_keys: KeyBuilder
) -> None:
    # Redis answers but refuses every write (OOM at maxmemory; MISCONF on a full disk alike): the key
    # values go to PostgreSQL, a resume does not fail on healing Redis, and Redis is re-seeded once it
    # takes writes again.
    server = RedisServer(tmp_path)
    server.start()
    client = server.client()
    problems: list[str] = []
    first = make_store(session_keys, server.url, pg_dsn, schema, problems, redis_retry_secs=0.05)
    snap1 = PairSnapshot(symbol="BTCUSDT", status=PairStatus.OPEN, ts_event=1, quantity="0.1")
    snap2 = PairSnapshot(symbol="BTCUSDT", status=PairStatus.OPEN, ts_event=2, quantity="0.2")

    async def run() -> dict[str, PairSnapshot]:
        await first.connect()
        await first.start_session("live", None, 30)
        await first.write([first.pair_snapshot_write(snap1)])
        client.config_set("maxmemory", "1")  # every write refused from now on, reads still answered
        await first.write([first.pair_snapshot_write(snap2), KeyWrite(Domain.PORTFOLIO, None, None, b'{"pnl":"1"}')])
        assert not first.redis_available
        await first.close()
        second = make_store(session_keys, server.url, pg_dsn, schema, problems, redis_retry_secs=0.05)
        await second.connect()
        try:
            loaded = await second.load_pair_snapshots()  # PostgreSQL is newer: healing Redis is refused
            client.config_set("maxmemory", "0")
            await asyncio.sleep(0.06)
            await second.maintain()
            assert second.redis_available
        finally:
            await second.close()
        return loaded

    try:
        assert asyncio.run(run()) == {"BTCUSDT": snap2}
        rows = pg_fetch(
            pg_dsn, schema, "SELECT kind FROM session_snapshots WHERE session_id = $1", session_keys.session_id
        )
        assert "PORTFOLIO" in {r["kind"] for r in rows}  # the refused key value is in PostgreSQL
        assert any("RedisWritesRefused: OOM command not allowed" in p for p in problems)
        assert decode_pair_snapshot(client.get(session_keys(Domain.SNAPSHOT, "BTCUSDT"))) == snap2  # re-seeded
    finally:
        client.close()
        server.kill()
