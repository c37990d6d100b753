"""
The risk guard's state across a restart, through the StateBridge, against the real Redis and PostgreSQL.

Each run is a new BacktestEngine (kernel, cache, risk engine, bridge) with the guard installed and the bridge
added as an ``ImportableActorConfig`` built from the settings (``state_bridge_config``); runs of one test
share only the session id. The guard publishes its state on the message bus, the bridge writes it into the
GUARD / COOLDOWN keys and ``risk_guard_snapshots``, and the next run's bridge hands it back before any
strategy starts. The risk tests' harness supplies the venues, quotes and a scripted strategy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import redis
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TradingState

from arb_plugin.events import GuardStateSnapshot
from arb_plugin.events import OrderIntent
from arb_plugin.settings import load_settings
from arb_plugin.state.bridge import StateBridge
from arb_plugin.state.bridge import state_bridge_actor
from arb_plugin.state.bridge import state_bridge_config
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.validate import decode_guard_state
from tests.integration.risk.harness import BTC_B
from tests.integration.risk.harness import BTC_U
from tests.integration.risk.harness import ETH_U
from tests.integration.risk.harness import PRICES
from tests.integration.risk.harness import SEC
from tests.integration.risk.harness import T0
from tests.integration.risk.harness import Setup
from tests.integration.risk.harness import build
from tests.integration.risk.harness import no_limits

from .conftest import delete_session_keys
from .conftest import make_store
from .conftest import pg_fetch

pytestmark = pytest.mark.integration

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
EXIT = OrderIntent.EXIT
# 09:00 KST at T0: the next trading day (00:00 Asia/Seoul) starts 15 hours later.
NEXT_DAY = T0 + 15 * 3600 * SEC


@pytest.fixture
def node(schema: str, pg_dsn: str, redis_url: str, session_keys: KeyBuilder) -> Iterator[Callable[..., Setup]]:
    """``build(...)`` with the StateBridge of the test's session added; disposes every engine it made."""
    settings = load_settings("development", environ={})
    config = state_bridge_config(
        settings,
        session_keys.session_id,
        "backtest",
        redis_url=redis_url,
        postgres_dsn=pg_dsn,
        postgres_schema=schema,
    )
    made: list[Setup] = []

    def factory(*args: Any, **kwargs: Any) -> Setup:
        setup = build(*args, actors=[state_bridge_actor(config)], **kwargs)
        made.append(setup)
        return setup

    yield factory
    for setup in made:
        setup.engine.dispose()


def bridge_of(setup: Setup) -> StateBridge:
    return next(a for a in setup.engine.trader.actors() if isinstance(a, StateBridge))


def run_and_stop(setup: Setup, seconds: float) -> None:
    """Run, then dispose (the node stops: the bridge writes what is left and marks the session stopped)."""
    setup.run(seconds)
    setup.engine.dispose()


def guard_rows(pg_dsn: str, schema: str, sid: str) -> list[Any]:
    return pg_fetch(
        pg_dsn,
        schema,
        "SELECT symbol, kind, ts_event, data FROM risk_guard_snapshots WHERE session_id = $1 ORDER BY id",
        sid,
    )


# Losing close of BTCUSDT: the pair's round trip at the quotes' spread, zero fees.
# Binance 0.01 x (59,999 - 60,001) USDT x 1,400 = -28 KRW; Upbit 0.01 x (84,995,000 - 85,005,000) = -100 KRW.
LOSS = "-128"
COOLDOWN_LIMITS = {
    "cooldown_ns": 40 * SEC,  # COOLDOWN after a losing close of at least cooldown_min_loss
    "cooldown_min_loss": D("100"),
    "symbol_defaults": {"cooldown_ns": 90 * SEC},  # SYMBOL_COOLDOWN after any losing close
}
CAUSE = "losing close of BTCUSDT (-128 KRW)"


def _round_trip_with_a_loss() -> list[tuple[float, Callable[[Any], Any]]]:
    return [
        (2, lambda s: s.submit(BTC_B, BUY, "0.01")),
        (2, lambda s: s.submit(BTC_U, SELL, "0.01")),
        (8, lambda s: s.submit(BTC_B, SELL, "0.01", intent=EXIT)),
        (8, lambda s: s.submit(BTC_U, BUY, "0.01", intent=EXIT)),
        (9, lambda s: s.pair_closed("BTCUSDT", LOSS)),
    ]


@pytest.mark.parametrize("redis_lost_the_keys", [False, True], ids=["from-redis", "from-postgresql"])
def test_a_cooldown_survives_a_restart_of_the_node(
    node: Callable[..., Setup],
    session_keys: KeyBuilder,
    sid: str,
    redis_url: str,
    pg_dsn: str,
    schema: str,
    redis_lost_the_keys: bool,
) -> None:
    client = redis.Redis.from_url(redis_url)

    # Run 1: a losing close at T0+9 s starts COOLDOWN (40 s) and SYMBOL_COOLDOWN BTCUSDT (90 s).
    first = node(no_limits(**COOLDOWN_LIMITS), _round_trip_with_a_loss(), seconds=20)
    run_and_stop(first, 20)
    assert len(first.strategy.filled) == 4
    assert [(t.guard, t.action, t.symbol) for t in first.strategy.triggers] == [
        ("SYMBOL_COOLDOWN", "cooldown", "BTCUSDT"),
        ("COOLDOWN", "cooldown", None),
    ]

    # The keyspace: GUARD (global), GUARD:{symbol}, COOLDOWN (global) and COOLDOWN:{symbol}, through KeyBuilder.
    top = decode_guard_state(client.get(session_keys(Domain.GUARD)))
    assert top.cooldowns == {"GLOBAL": T0 + 49 * SEC, "BTCUSDT": T0 + 99 * SEC}
    assert top.symbols == {}  # symbols live under their own keys
    assert (top.state["cooldown_until_ns"], top.state["cooldown_cause"]) == (T0 + 49 * SEC, CAUSE)
    btc = decode_guard_state(client.get(session_keys(Domain.GUARD, "BTCUSDT")))
    assert (btc.state["cooldown_until_ns"], btc.state["cooldown_cause"]) == (T0 + 99 * SEC, CAUSE)
    assert btc.cooldowns == {"BTCUSDT": T0 + 99 * SEC}
    eth = decode_guard_state(client.get(session_keys(Domain.GUARD, "ETHUSDT")))
    assert eth.state["cooldown_until_ns"] == 0 and eth.cooldowns == {}
    for key in (session_keys(Domain.GUARD), session_keys(Domain.GUARD, "BTCUSDT")):
        assert 7_000 < client.ttl(key) <= 7_200  # GUARD: 7,200 s
    # COOLDOWN keys: the remaining time on the guard's clock when last written (at the losing close, T0+9 s,
    # the last change of the run) as TTL: they disappear when the cooldowns expire.
    assert top.ts_event == T0 + 9 * SEC
    assert msgspec.json.decode(client.get(session_keys(Domain.COOLDOWN))) == {
        "scope": "GLOBAL",
        "expires_ns": T0 + 49 * SEC,
    }
    assert 30 < client.ttl(session_keys(Domain.COOLDOWN)) <= 40
    assert msgspec.json.decode(client.get(session_keys(Domain.COOLDOWN, "BTCUSDT"))) == {
        "scope": "BTCUSDT",
        "expires_ns": T0 + 99 * SEC,
    }
    assert 80 < client.ttl(session_keys(Domain.COOLDOWN, "BTCUSDT")) <= 90
    assert client.exists(session_keys(Domain.COOLDOWN, "ETHUSDT")) == 0  # no cooldown, no key
    keys = sorted(k.decode() for k in client.scan_iter(match=session_keys.session_pattern()))
    assert [k for k in keys if ":GUARD" in k or ":COOLDOWN" in k] == sorted(
        [
            session_keys(Domain.GUARD),
            session_keys(Domain.GUARD, "BTCUSDT"),
            session_keys(Domain.GUARD, "ETHUSDT"),
            session_keys(Domain.COOLDOWN),
            session_keys(Domain.COOLDOWN, "BTCUSDT"),
        ],
    )

    # risk_guard_snapshots: every GUARD value is a row; the newest per key equals what Redis holds.
    rows = guard_rows(pg_dsn, schema, sid)
    assert {(r["symbol"], r["kind"]) for r in rows} == {(None, "GUARD"), ("BTCUSDT", "GUARD"), ("ETHUSDT", "GUARD")}
    newest = {r["symbol"]: decode_guard_state(r["data"]) for r in rows}
    assert newest[None] == top and newest["BTCUSDT"] == btc and newest["ETHUSDT"] == eth
    assert any(r["ts_event"] == T0 + 9 * SEC and r["symbol"] == "BTCUSDT" for r in rows)  # saved when it tripped

    if redis_lost_the_keys:
        delete_session_keys(redis_url, session_keys)
        assert client.exists(session_keys(Domain.GUARD), session_keys(Domain.GUARD, "BTCUSDT")) == 0

    # Run 2: a new node on the same session, 21 s after the losing close.
    orders: dict[str, Any] = {}

    def send(name: str, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        return lambda s: orders.setdefault(name, s.submit(*args, **kwargs))

    second = node(
        no_limits(**COOLDOWN_LIMITS),
        [
            (5, send("eth_entry", ETH_U, SELL, "0.1")),
            (5, send("btc_entry", BTC_U, SELL, "0.01")),
            (5, send("btc_exit", BTC_B, SELL, "0.01", intent=EXIT)),
            (25, send("eth_after_cooldown", ETH_U, SELL, "0.1")),
            (25, send("btc_in_symbol_cooldown", BTC_U, SELL, "0.01")),
            (70, send("btc_after_both", BTC_U, SELL, "0.01")),
        ],
        seconds=75,
        start_ns=T0 + 30 * SEC,
    )
    bridge = bridge_of(second)
    second.run(75)
    assert bridge.session is not None and bridge.session.starts == 2
    assert bridge.resumed_guard is not None and second.gate is not None
    assert second.gate.restored == bridge.resumed_guard and second.gate.load_errors == []
    st = second.strategy
    # T0+35 s: COOLDOWN has 14 s left and blocks every entry; the exit passes.
    assert st.reason(orders["eth_entry"]) == f"COOLDOWN: 14.000 s left (after {CAUSE})"
    assert st.reason(orders["btc_entry"]) == f"COOLDOWN: 14.000 s left (after {CAUSE})"
    assert st.reason(orders["btc_exit"]) is None and st.was_filled(orders["btc_exit"])
    # T0+55 s: COOLDOWN is over; BTCUSDT's own cooldown has 44 s left and blocks only BTCUSDT.
    assert st.reason(orders["eth_after_cooldown"]) is None and st.was_filled(orders["eth_after_cooldown"])
    assert st.reason(orders["btc_in_symbol_cooldown"]) == f"SYMBOL_COOLDOWN: BTCUSDT 44.000 s left (after {CAUSE})"
    # T0+100 s: both are over.
    assert st.reason(orders["btc_after_both"]) is None
    # The restored state went straight back to Redis (re-seeded when it had lost it).
    assert decode_guard_state(client.get(session_keys(Domain.GUARD, "BTCUSDT"))).state["cooldown_until_ns"] == (
        T0 + 99 * SEC
    )
    client.close()


def _drop_at_10(instrument: Any, second: int) -> tuple[str, str]:
    if instrument == BTC_B and second >= 10:
        return ("58999.00", "59001.00")
    return PRICES[instrument]


def test_daily_loss_and_the_halt_survive_restarts_within_the_trading_day(
    node: Callable[..., Setup],
    session_keys: KeyBuilder,
    sid: str,
    redis_url: str,
    pg_dsn: str,
    schema: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    limits = no_limits(max_daily_loss=D("20000"))

    # Run 1: -14,028 KRW by T0+10 s, under the 20,000 limit.
    first = node(limits, [(2, lambda s: s.submit(BTC_B, BUY, "0.01"))], seconds=12, prices=_drop_at_10)
    run_and_stop(first, 12)
    saved = decode_guard_state(client.get(session_keys(Domain.GUARD)))
    assert (saved.state["trading_day"], saved.state["daily_pnl"], saved.state["halted"]) == (
        "2024-08-01",
        "-14028.000",
        False,
    )

    # Run 2, same day: starts flat and loses 5,978 more: -20,006 < -20,000 -> HALTED.
    orders: dict[str, Any] = {}
    second = node(
        limits,
        [
            (2, lambda s: s.submit(BTC_B, BUY, "0.01")),
            (12, lambda s: orders.setdefault("eth", s.submit(ETH_U, SELL, "0.1"))),
        ],
        seconds=15,
        prices=lambda i, sec: ("59574.00", "59576.00") if i == BTC_B and sec >= 10 else PRICES[i],
        start_ns=T0 + 60 * SEC,
    )
    run_and_stop(second, 15)
    halt = "HALTED: entries halted by MAX_DAILY_LOSS: daily PnL -20,006 KRW < -20,000 KRW"
    assert second.strategy.reason(orders["eth"]) == halt
    saved = decode_guard_state(client.get(session_keys(Domain.GUARD)))
    assert (saved.state["daily_pnl"], saved.state["halted"], saved.state["halt_guard"]) == (
        "-20006.000",
        True,
        "MAX_DAILY_LOSS",
    )
    assert pg_fetch(
        pg_dsn,
        schema,
        "SELECT count(*) FROM risk_guard_snapshots WHERE session_id = $1 AND symbol IS NULL "
        "AND (data->'state'->>'halted')::boolean",
        sid,
    )[0][0] >= 1

    # Run 3, same day, and Redis lost every key: restored from PostgreSQL, HALTED before any order.
    delete_session_keys(redis_url, session_keys)
    third = node(
        limits,
        [
            (1, lambda s: orders.setdefault("entry", s.submit(ETH_U, SELL, "0.1"))),
            (1, lambda s: orders.setdefault("exit", s.submit(ETH_U, SELL, "0.1", intent=EXIT))),
        ],
        seconds=3,
        start_ns=T0 + 120 * SEC,
    )
    third.run(3)
    assert third.engine.kernel.risk_engine.trading_state == TradingState.HALTED
    assert third.strategy.reason(orders["entry"]) == halt
    assert third.strategy.was_filled(orders["exit"])  # reducing exposure passes a restored halt
    assert third.gate is not None and third.gate.restored is not None
    assert third.gate.restored.state == saved.state  # PostgreSQL's row is what run 2 left in Redis
    third.engine.dispose()

    # Run 4, the next trading day (00:00 Asia/Seoul): the daily halt is lifted, entries pass again.
    fourth = node(
        limits,
        [(1, lambda s: orders.setdefault("next_day", s.submit(ETH_U, SELL, "0.1")))],
        seconds=3,
        start_ns=NEXT_DAY + 10 * SEC,
    )
    run_and_stop(fourth, 3)
    assert fourth.strategy.reason(orders["next_day"]) is None
    assert fourth.engine.kernel.risk_engine.trading_state == TradingState.ACTIVE
    assert fourth.gate is not None and fourth.gate.trigger_counts == {"HALTED": 1}  # lifted (before the strategy)
    assert fourth.gate.restored is not None and fourth.gate.restored.state["halted"] is True
    saved = decode_guard_state(client.get(session_keys(Domain.GUARD)))
    # the new day counts from zero: only the spread of its one entry (0.1 ETH sold at the bid, marked at the ask)
    assert (saved.state["trading_day"], saved.state["daily_pnl"], saved.state["halted"]) == (
        "2024-08-02",
        "-200",
        False,
    )
    client.close()


def test_a_corrupt_guard_key_is_reported_and_the_good_state_still_restores(
    node: Callable[..., Setup],
    session_keys: KeyBuilder,
    redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    first = node(no_limits(**COOLDOWN_LIMITS), _round_trip_with_a_loss(), seconds=20)
    run_and_stop(first, 20)
    eth_key = session_keys(Domain.GUARD, "ETHUSDT")
    client.set(eth_key, b"{not json")  # corrupt: PostgreSQL's good copy is used instead
    xrp_key = session_keys(Domain.GUARD, "XRPUSDT")
    client.hset(xrp_key, "foreign", "value")  # a foreign value under our keyspace: skipped
    client.expire(xrp_key, 60)

    orders: dict[str, Any] = {}
    second = node(
        no_limits(**COOLDOWN_LIMITS),
        [(25, lambda s: orders.setdefault("btc", s.submit(BTC_U, SELL, "0.01")))],
        seconds=26,
        start_ns=T0 + 30 * SEC,
    )
    bridge = bridge_of(second)
    problems: list[str] = []
    bridge._report = problems.append  # type: ignore[method-assign]
    second.run(26)
    assert any(f"Redis key {eth_key}: not a GuardStateSnapshot" in p for p in problems)
    assert any(f"Redis key {xrp_key} holds a hash" in p for p in problems)
    resumed = bridge.resumed_guard
    assert isinstance(resumed, GuardStateSnapshot) and set(resumed.symbols) == {"BTCUSDT", "ETHUSDT"}
    assert second.strategy.reason(orders["btc"]) == f"SYMBOL_COOLDOWN: BTCUSDT 44.000 s left (after {CAUSE})"
    assert client.type(xrp_key) == b"hash"  # never overwritten
    client.close()


def test_a_cooldown_key_disappears_when_its_cooldown_expires(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    session_keys: KeyBuilder,
) -> None:
    now = time.time_ns()
    snapshot = GuardStateSnapshot(
        state={},
        cooldowns={"BTCUSDT": now + SEC, "GLOBAL": now + 600 * SEC, "ETHUSDT": now + 5 * 3600 * SEC},
        ts_event=now,
        symbols={"BTCUSDT": {"cooldown_until_ns": now + SEC}},
    )
    store = make_store(session_keys, redis_url, pg_dsn, schema)

    async def save() -> None:
        await store.connect()
        try:
            await store.save_guard_state(snapshot)
        finally:
            await store.close()

    asyncio.run(save())
    client = redis.Redis.from_url(redis_url)
    btc = session_keys(Domain.COOLDOWN, "BTCUSDT")
    assert 0 < client.pttl(btc) <= 1_000
    assert 590 <= client.ttl(session_keys(Domain.COOLDOWN)) <= 600
    assert 3_590 <= client.ttl(session_keys(Domain.COOLDOWN, "ETHUSDT")) <= 3_600  # capped at the domain's TTL
    deadline = time.monotonic() + 5
    while client.exists(btc) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.exists(btc) == 0  # gone with its cooldown
    assert client.exists(session_keys(Domain.COOLDOWN)) == 1  # the global one still runs
    assert client.exists(session_keys(Domain.GUARD, "BTCUSDT")) == 1  # the state itself stays (GUARD TTL)
    client.close()
