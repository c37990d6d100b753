"""
Bad input: corrupt or foreign values under our keys and snapshot rows that do not validate are reported
with the key/row and skipped; start-up does not crash and good state is not overwritten.
"""

from __future__ import annotations

import asyncio
import base64

import msgspec
import pytest
import redis

from arb_plugin.events import GuardStateSnapshot
from arb_plugin.events import LegFill
from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.records import SnapshotTable
from arb_plugin.state.records import event_row
from arb_plugin.state.store import StateStore
from arb_plugin.state.validate import InvalidStateValue
from arb_plugin.state.validate import decode_pair_snapshot

from .conftest import make_store
from .conftest import pg_fetch

pytestmark = pytest.mark.integration


def _snap(symbol: str, ts: int, status: PairStatus = PairStatus.OPEN, qty: str = "0.01") -> PairSnapshot:
    return PairSnapshot(
        symbol=symbol,
        status=status,
        ts_event=ts,
        quantity=qty,
        round_trips=3,
        realized_pnl_krw="12500",
        legs=(
            LegFill("BTCUSDT.BINANCE", "BUY", qty, "97000.5"),
            LegFill("KRW-BTC.UPBIT", "SELL", qty, "143000000"),
        ),
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not a PairSnapshot"),
        (b'{"symbol": "BTCUSDT"}', "not a PairSnapshot"),
        (b'{"symbol":"BTCUSDT","status":"MAYBE","ts_event":1}', "not a PairSnapshot"),
        (b'{"symbol":"BTCUSDT","status":"OPEN","ts_event":1,"quantity":"lots"}', "quantity='lots'"),
        (
            b'{"symbol":"BTCUSDT","status":"OPEN","ts_event":1,"realized_pnl_krw":"NaN"}',
            "not a finite decimal",
        ),
    ],
)
def test_decoder_names_what_is_wrong(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidStateValue, match=reason):
        decode_pair_snapshot(payload)


def _seed(store: StateStore, snaps: list[PairSnapshot]) -> None:
    async def run() -> None:
        await store.connect()
        await store.start_session("live", None, 30)
        await store.write([store.pair_snapshot_write(s) for s in snaps])
        await store.close()

    asyncio.run(run())


def _load(store: StateStore) -> dict[str, PairSnapshot]:
    async def run() -> dict[str, PairSnapshot]:
        await store.connect()
        try:
            return await store.load_pair_snapshots()
        finally:
            await store.close()

    return asyncio.run(run())


def test_corrupt_and_foreign_redis_values_are_reported_and_skipped(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    session_keys: KeyBuilder,
) -> None:
    good = {s: _snap(s, 100) for s in ("BTCUSDT", "ETHUSDT", "XRPUSDT", "SOLUSDT")}
    _seed(make_store(session_keys, redis_url, pg_dsn, schema), list(good.values()))
    client = redis.Redis.from_url(redis_url)
    btc, eth, xrp = (session_keys(Domain.SNAPSHOT, s) for s in ("BTCUSDT", "ETHUSDT", "XRPUSDT"))
    client.set(btc, b"\x00\xffgarbage")  # corrupt bytes
    client.delete(eth)
    client.hset(eth, mapping={"foreign": "hash"})  # a foreign type under our key
    client.set(xrp, _snap("ETHUSDT", 100).to_json())  # another symbol's snapshot
    client.set(session_keys(Domain.SNAPSHOT, "DOGEUSDT"), b'{"symbol":"DOGEUSDT","status":"OPEN"}')  # no good row
    prefix = session_keys(Domain.SNAPSHOT, "BTCUSDT").rsplit(":", 2)[0]  # arbitrage:{env}:{session}
    foreign = [f"{prefix}:SNAPSHOT:a:b:c", f"{prefix}:SNAPSHOT:BTC USDT", f"{prefix}:GUARD:BTC USDT"]
    for key in foreign:  # keys no store writes, under the session's prefix
        client.set(key, b"{}", ex=60)

    problems: list[str] = []
    loaded = _load(make_store(session_keys, redis_url, pg_dsn, schema, problems))
    guard_problems: list[str] = []
    guard_store = make_store(session_keys, redis_url, pg_dsn, schema, guard_problems)

    async def load_guard() -> None:
        await guard_store.connect()
        try:
            await guard_store.load_guard_state()
        finally:
            await guard_store.close()

    asyncio.run(load_guard())
    assert any(f"Redis key '{foreign[2]}' is not one of this store's keys" in p for p in guard_problems)

    # Start-up did not crash; every symbol with a good copy (PostgreSQL) is restored, the corrupt one is not.
    assert loaded == good
    text = "\n".join(problems)
    assert f"Redis key {btc}: not a PairSnapshot" in text
    assert f"Redis key {eth} holds a hash, not a PairSnapshot" in text
    assert f"Redis key {xrp} holds the snapshot of 'ETHUSDT'" in text
    assert f"Redis key {session_keys(Domain.SNAPSHOT, 'DOGEUSDT')}: not a PairSnapshot" in text
    for key in foreign[:2]:
        assert f"Redis key {key!r} is not one of this store's keys" in text
    # Good state was not overwritten: the rows are intact and Redis now holds the good values again.
    rows = pg_fetch(pg_dsn, schema, "SELECT count(*) AS n FROM position_snapshots WHERE kind = 'SNAPSHOT'")
    assert rows[0]["n"] == 4
    assert decode_pair_snapshot(client.get(btc)) == good["BTCUSDT"]
    assert decode_pair_snapshot(client.get(xrp)) == good["XRPUSDT"]
    # The key is ours: the foreign hash is replaced by the good value, as the next write would do anyway.
    assert decode_pair_snapshot(client.get(eth)) == good["ETHUSDT"]
    client.close()


def test_invalid_rows_are_reported_with_their_id_and_an_older_good_row_is_used(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    session_keys: KeyBuilder,
) -> None:
    older = _snap("BTCUSDT", 100)
    _seed(make_store(session_keys, redis_url, pg_dsn, schema), [older])
    # Newer rows that do not validate (schema-valid JSON, wrong content), and Redis lost everything.
    bad_rows = pg_fetch(
        pg_dsn,
        schema,
        """
        INSERT INTO position_snapshots (session_id, ts_event, symbol, kind, data) VALUES
          ($1, 200, 'BTCUSDT', 'SNAPSHOT',
           '{"symbol":"BTCUSDT","status":"OPEN","ts_event":200,"quantity":"x"}'),
          ($1, 300, 'BTCUSDT', 'SNAPSHOT', '{"hello":"world"}')
        RETURNING id
        """,
        session_keys.session_id,
    )
    client = redis.Redis.from_url(redis_url)
    client.delete(session_keys(Domain.SNAPSHOT, "BTCUSDT"))

    problems: list[str] = []
    loaded = _load(make_store(session_keys, redis_url, pg_dsn, schema, problems))

    assert loaded == {"BTCUSDT": older}
    for row in bad_rows:
        assert any(f"position_snapshots row id={row['id']} (SNAPSHOT BTCUSDT)" in p for p in problems), problems
    assert decode_pair_snapshot(client.get(session_keys(Domain.SNAPSHOT, "BTCUSDT"))) == older  # healed
    client.close()


def test_a_corrupt_newer_row_never_replaces_a_good_redis_value(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    session_keys: KeyBuilder,
) -> None:
    snap = _snap("BTCUSDT", 100)
    _seed(make_store(session_keys, redis_url, pg_dsn, schema), [snap])
    pg_fetch(
        pg_dsn,
        schema,
        "INSERT INTO position_snapshots (session_id, ts_event, symbol, kind, data) "
        "VALUES ($1, 999, 'BTCUSDT', 'SNAPSHOT', '[1, 2, 3]')",
        session_keys.session_id,
    )
    problems: list[str] = []
    assert _load(make_store(session_keys, redis_url, pg_dsn, schema, problems)) == {"BTCUSDT": snap}
    assert any("not a PairSnapshot" in p for p in problems)


def test_guard_state_round_trip_and_bad_guard_value(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    session_keys: KeyBuilder,
) -> None:
    now = 1_700_000_000_000_000_000
    guard = GuardStateSnapshot(
        state={
            "daily_pnl_krw": "-150000",
            "peak_equity_krw": "250000000",
            "halted": False,
            "day": "2025-01-02",
        },
        cooldowns={"GLOBAL": now + 600 * 10**9, "BTCUSDT": now + 30 * 10**9, "ETHUSDT": now - 10**9},
        ts_event=now,
    )
    store = make_store(session_keys, redis_url, pg_dsn, schema)

    async def save() -> None:
        await store.connect()
        await store.start_session("live", None, 30)
        await store.save_guard_state(guard)
        await store.close()

    asyncio.run(save())
    client = redis.Redis.from_url(redis_url)
    assert 0 < client.ttl(session_keys(Domain.GUARD)) <= 7200
    assert 590 <= client.ttl(session_keys(Domain.COOLDOWN)) <= 600  # the global cooldown; expires with it
    assert 20 <= client.ttl(session_keys(Domain.COOLDOWN, "BTCUSDT")) <= 30
    assert client.exists(session_keys(Domain.COOLDOWN, "ETHUSDT")) == 0  # already expired: not written

    async def load(s: StateStore) -> GuardStateSnapshot | None:
        await s.connect()
        try:
            return await s.load_guard_state()
        finally:
            await s.close()

    assert asyncio.run(load(make_store(session_keys, redis_url, pg_dsn, schema))) == guard
    # Redis lost it: PostgreSQL has it.
    client.delete(session_keys(Domain.GUARD))
    assert asyncio.run(load(make_store(session_keys, redis_url, pg_dsn, schema))) == guard
    # A corrupt value under GUARD is reported and PostgreSQL's good copy wins.
    client.set(session_keys(Domain.GUARD), b'{"state": 5}')
    problems: list[str] = []
    assert asyncio.run(load(make_store(session_keys, redis_url, pg_dsn, schema, problems))) == guard
    assert any(f"Redis key {session_keys(Domain.GUARD)}: not a GuardStateSnapshot" in p for p in problems)
    client.close()


def test_bridge_config_from_settings_carries_no_secret() -> None:
    import msgspec

    from arb_plugin.settings import load_settings
    from arb_plugin.state.bridge import state_bridge_config

    settings = load_settings(
        "development",
        environ={
            "ARB_POSTGRES_DSN": "postgresql://arb:pg-s3cret@db:5432/arb",
            "ARB_REDIS_URL": "redis://:rd-s3cret@r:6379/0",
        },
    )
    assert settings.postgres_dsn.endswith("@db:5432/arb")  # the secret DSN is what the node should use ...
    config = state_bridge_config(settings, "s1", "paper", config_hash="abc")
    text = msgspec.json.encode(config).decode()
    assert "s3cret" not in text  # ... but it never travels in the actor's config
    assert (config.env, config.session_id, config.postgres_dsn_env, config.redis_url_env) == (
        "dev",
        "s1",
        "ARB_POSTGRES_DSN",
        "ARB_REDIS_URL",
    )


@pytest.mark.parametrize(("down_for", "resumed"), [("7 days", False), ("2 hours", True)])
def test_a_resumed_session_gets_pg_snapshots_only_within_their_ttl(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    session_keys: KeyBuilder,
    sid: str,
    down_for: str,
    resumed: bool,
) -> None:
    # A session that crashed `down_for` ago, its Redis keys long expired: its last SNAPSHOT row (written a
    # day before it crashed, renewed in Redis while it ran) is resumed only within SNAPSHOT's 86,400 s,
    # counted from the session's last heartbeat, not from the resuming start's own.
    snap = _snap("BTCUSDT", 100)
    pg_fetch(
        pg_dsn,
        schema,
        f"""
        INSERT INTO sessions (session_id, env, mode, status, started_at, heartbeat_at)
        VALUES ($1, 'dev', 'live', 'crashed', now() - interval '30 days', now() - interval '{down_for}')
        """,
        sid,
    )
    pg_fetch(
        pg_dsn,
        schema,
        f"""
        INSERT INTO position_snapshots (session_id, created_at, symbol, kind, data)
        VALUES ($1, now() - interval '{down_for}' - interval '1 day', 'BTCUSDT', 'SNAPSHOT', $2::jsonb)
        """,
        sid,
        snap.to_json().decode(),
    )
    store = make_store(session_keys, redis_url, pg_dsn, schema)

    async def run() -> dict[str, PairSnapshot]:
        await store.connect()
        try:
            info = await store.start_session("live", None, 30)  # the bridge's order: start, then resume
            assert info.resumed and info.previous_heartbeat_at is not None
            return await store.load_pair_snapshots()
        finally:
            await store.close()

    assert asyncio.run(run()) == ({"BTCUSDT": snap} if resumed else {})


def test_a_row_postgresql_refuses_is_kept_as_unstorable_and_blocks_no_other(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    session_keys: KeyBuilder,
) -> None:
    # jsonb refuses \u0000: the row is isolated, the good rows of its batch and of later batches are written
    bad_bytes = msgspec.json.encode({"detail": "venue said \x00"})
    problems: list[str] = []
    store = make_store(session_keys, redis_url, pg_dsn, schema, problems)
    good = [_snap("BTCUSDT", ts) for ts in (10, 11, 12)]

    async def run() -> int:
        await store.connect()
        try:
            rows = [event_row(SnapshotTable.POSITION, f"event{i}", b'{"i":%d}' % i, "BTCUSDT", i) for i in range(5)]
            rows.insert(2, event_row(SnapshotTable.POSITION, "leg_risk_detail", bad_bytes, "BTCUSDT", 99))
            await store.write([], rows)  # does not raise: the refused value is not an outage
            for snap in good:
                await store.write([store.pair_snapshot_write(snap)])
            return store.pending_rows
        finally:
            await store.close()

    assert asyncio.run(run()) == 0
    rows = pg_fetch(
        pg_dsn, schema, "SELECT kind, data FROM position_snapshots WHERE session_id = $1 ORDER BY id",
        session_keys.session_id,
    )
    assert [r["kind"] for r in rows] == [
        "event0", "event1", "leg_risk_detail", "event2", "event3", "event4", "SNAPSHOT", "SNAPSHOT", "SNAPSHOT",
    ]
    kept = msgspec.json.decode(rows[2]["data"])
    assert base64.b64decode(kept["unstorable"]) == bad_bytes  # nothing lost: the exact bytes
    assert any("leg_risk_detail BTCUSDT) refused by PostgreSQL" in p for p in problems)
