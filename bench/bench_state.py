"""
State store benchmarks (``python -m bench.bench_state``): prints figures, asserts nothing.

1. Per-second flush of 100 symbols: ``StateStore.write`` of one pre-encoded value per symbol (memory
   cache + one ``EVALSHA`` packed from cached RESP fragments), p50/p99 ms; next to it, the naive
   100-command pipeline the design started from. Target: p99 < 1 ms.
2. Single GET and SET p99 against the local Redis (the store's pool).
3. PostgreSQL rows/s at 10,000 snapshot rows: one awaited INSERT per row, ``executemany``, ``COPY``
   (the store's path), and the ratios. Targets: COPY >= 50x per-row INSERT, and faster than executemany.

Uses the real Redis (``ARB_TEST_REDIS_URL``) and PostgreSQL (``ARB_TEST_PG_DSN``) on 127.0.0.1, under a
private session id and schema that are removed afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import os
import time
import uuid

import asyncpg
import msgspec

from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.migrate import migrate
from arb_plugin.state.records import ROW_COLUMNS
from arb_plugin.state.records import KeyWrite
from arb_plugin.state.records import SnapshotRow
from arb_plugin.state.records import SnapshotTable
from arb_plugin.state.store import StateStore
from arb_plugin.state.store import copy_rows

REDIS_URL = os.environ.get("ARB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_DSN = os.environ.get("ARB_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SYMBOLS = 100
FLUSHES = 3_000
SINGLE_OPS = 5_000
ROWS = 10_000


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(samples: list[float]) -> str:
    return f"p50 {_pct(samples, 0.50) * 1e3:.3f} ms  p99 {_pct(samples, 0.99) * 1e3:.3f} ms"


def _us(samples: list[float]) -> str:
    return f"p50 {_pct(samples, 0.50) * 1e6:.0f} us  p99 {_pct(samples, 0.99) * 1e6:.0f} us"


def _payload(symbol: str, step: int) -> bytes:
    return msgspec.json.encode(
        {
            "symbol": symbol,
            "legs": {
                f"{symbol}.BINANCE": {"net_qty": "0.010000", "realized_pnl": "12.34", "currency": "USDT"},
                f"KRW-{symbol[:-4]}.UPBIT": {
                    "net_qty": "-0.01000000",
                    "realized_pnl": "-5000",
                    "currency": "KRW",
                },
            },
            "ts": 1_735_689_600_000_000_000 + step,
        },
    )


async def bench_flush(store: StateStore) -> None:
    symbols = [f"S{i:03d}USDT" for i in range(SYMBOLS)]
    # Pre-encoded payloads, as the bridge hands them over (encoding happens in the handlers).
    batches = [[KeyWrite(Domain.STATE, s, "position", _payload(s, step)) for s in symbols] for step in range(16)]
    for step in range(200):  # warm-up: script loaded, fragments cached, connections open
        await store.write(batches[step % 16])
    gc.collect()
    samples = []
    for step in range(FLUSHES):
        batch = batches[step % 16]
        t0 = time.perf_counter()
        await store.write(batch)
        samples.append(time.perf_counter() - t0)
    print(f"flush of {SYMBOLS} symbols (StateStore.write, one EVALSHA):  {_ms(samples)}  (n={FLUSHES})")

    client = store._redis.client  # the same pool, the naive way: 100 SET EX in one pipeline
    naive = []
    for step in range(FLUSHES // 3):
        batch = batches[step % 16]
        t0 = time.perf_counter()
        pipe = client.pipeline(transaction=False)
        for w in batch:
            pipe.set(store.keys(w.domain, w.symbol, w.field), w.payload, ex=Domain.STATE.ttl_secs)
        await pipe.execute()
        naive.append(time.perf_counter() - t0)
    print(f"flush of {SYMBOLS} symbols (naive 100-command pipeline):  {_ms(naive)}  (n={len(naive)})")


async def bench_single(store: StateStore) -> None:
    client = store._redis.client
    key = store.keys(Domain.METRICS, "BENCH")
    value = _payload("BENCHUSDT", 0)
    for _ in range(200):
        await client.set(key, value, ex=120)
        await client.get(key)
    sets, gets = [], []
    for _ in range(SINGLE_OPS):
        t0 = time.perf_counter()
        await client.set(key, value, ex=120)
        t1 = time.perf_counter()
        await client.get(key)
        t2 = time.perf_counter()
        sets.append(t1 - t0)
        gets.append(t2 - t1)
    print(f"single SET (redis.asyncio, pooled):  {_us(sets)}")
    print(f"single GET (redis.asyncio, pooled):  {_us(gets)}")


def _rows(session_id: str) -> list[SnapshotRow]:
    now = time.time()
    return [
        SnapshotRow(SnapshotTable.POSITION, f"S{i % 100:03d}USDT", "fill", _payload(f"S{i % 100:03d}USDT", i), i, now)
        for i in range(ROWS)
    ]


async def bench_pg(pool: asyncpg.Pool, schema: str, session_id: str) -> None:
    rows = _rows(session_id)
    records = [
        (session_id, dt.datetime.fromtimestamp(r.created_at, dt.UTC), r.ts_event, r.symbol, r.kind, r.data)
        for r in rows
    ]
    insert = f"INSERT INTO position_snapshots ({', '.join(ROW_COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6)"
    results: dict[str, float] = {}
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE position_snapshots")
        t0 = time.perf_counter()
        for record in records:
            await conn.execute(insert, *record)
        results["one INSERT per row"] = time.perf_counter() - t0

        await conn.execute("TRUNCATE position_snapshots")
        t0 = time.perf_counter()
        await conn.executemany(insert, records)
        results["executemany"] = time.perf_counter() - t0

        await conn.execute("TRUNCATE position_snapshots")
        t0 = time.perf_counter()
        await copy_rows(conn, session_id, rows, schema)
        results["COPY (StateStore)"] = time.perf_counter() - t0
        count = await conn.fetchval("SELECT count(*) FROM position_snapshots")
        assert count == ROWS, count

        # Where COPY's time goes: the same COPY into the same columns without the SPEC's indexes.
        await conn.execute(
            "CREATE TEMP TABLE bare_snapshots (LIKE position_snapshots INCLUDING DEFAULTS INCLUDING IDENTITY)",
        )
        t0 = time.perf_counter()
        await conn.copy_records_to_table("bare_snapshots", records=records, columns=ROW_COLUMNS)
        bare = time.perf_counter() - t0
    per_row = ROWS / results["one INSERT per row"]
    for name, secs in results.items():
        rate = ROWS / secs
        print(f"{ROWS:,} rows, {name:<20} {rate:>12,.0f} rows/s  ({secs * 1e3:8.1f} ms)  x{rate / per_row:6.1f}")
    print(
        f"COPY / one INSERT per row = {results['one INSERT per row'] / results['COPY (StateStore)']:.1f}x; "
        f"COPY / executemany = {results['executemany'] / results['COPY (StateStore)']:.1f}x",
    )
    print(
        f"(COPY into the same table without its indexes: {ROWS / bare:,.0f} rows/s, "
        f"{results['one INSERT per row'] / bare:.1f}x per-row INSERT: the rest is index upkeep)",
    )


async def main() -> None:
    session_id = f"bench{uuid.uuid4().hex[:8]}"
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_DSN)
    await migrate(conn, schema=schema)
    await conn.close()
    store = StateStore(KeyBuilder("dev", session_id), REDIS_URL, PG_DSN, schema)
    try:
        await store.connect()
        await bench_flush(store)
        await bench_single(store)
        await bench_pg(store.pg, schema, session_id)
    finally:
        client = store._redis.client
        keys = [k async for k in client.scan_iter(match=store.keys.session_pattern(), count=1000)]
        if keys:
            await client.delete(*keys)
        await store.close()
        conn = await asyncpg.connect(PG_DSN)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
