"""
Resume after a crash (SIGKILL) with the same session id: a paper TradingNode subprocess (ArbitrageStrategy +
StateBridge + NautilusTrader sandbox execution) enters a pair and is killed while the pair is OPEN; a new
process with the same session id resumes the open pair from the state store, exits it normally, and never
sends a duplicate order. PnL counters and the guard's state carry over.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
import redis

from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.validate import decode_pair_snapshot

from .conftest import pg_fetch

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NODE = Path(__file__).with_name("resume_node.py")
FX = Decimal(1400)  # the feeder's USDT/KRW mid (the mark rate the strategy converts with)


def _start(phase: str, sid: str, schema: str, redis_url: str, pg_dsn: str, audit: Path, log: Path):
    return subprocess.Popen(
        [sys.executable, str(NODE), "--phase", phase, "--session", sid, "--schema", schema,
         "--redis-url", redis_url, "--pg-dsn", pg_dsn, "--audit", str(audit)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=NODE.parents[3],
    )


def _audit(path: Path) -> list[dict]:
    return [msgspec.json.decode(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_open(client: redis.Redis, key: str, proc: subprocess.Popen, log: Path) -> PairSnapshot:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"node exited early ({proc.returncode}):\n{log.read_text()[-3000:]}")
        raw = client.get(key)
        if raw is not None:
            snap = decode_pair_snapshot(raw)
            if snap.status is PairStatus.OPEN and not snap.working_orders:
                return snap
        time.sleep(0.05)
    pytest.fail(f"the pair never showed OPEN in Redis:\n{log.read_text()[-3000:]}")


def _cash_flow_krw(fill: dict) -> Decimal:
    """A fill's cash flow in KRW, recomputed from the fill row alone (FX at the feeder's mid)."""
    amount = Decimal(fill["last_qty"]) * Decimal(fill["last_px"])
    commission, currency = fill["commission"].split()
    flow = (amount if fill["order_side"] == "SELL" else -amount) - Decimal(commission)
    return flow * FX if currency == "USDT" else flow


def test_sigkill_while_open_then_resume_exits_the_same_pair_without_duplicate_orders(
    schema: str, pg_dsn: str, redis_url: str, session_keys: KeyBuilder, sid: str, tmp_path: Path,
) -> None:
    client = redis.Redis.from_url(redis_url)
    snapshot_key = session_keys(Domain.SNAPSHOT, "BTCUSDT")

    # Run 1: enter, then die abruptly while the pair is OPEN.
    first = _start("enter", sid, schema, redis_url, pg_dsn, tmp_path / "a1.jsonl", tmp_path / "n1.log")
    try:
        opened = _wait_open(client, snapshot_key, first, tmp_path / "n1.log")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    assert pg_fetch(pg_dsn, schema, "SELECT status FROM sessions WHERE session_id = $1", sid)[0]["status"] == "active"
    assert opened.round_trips == 0 and Decimal(opened.trip_flow_krw) != 0

    # Run 2: same session id; it waits out the dead process's heartbeat, resumes, exits, stops normally.
    second = _start("exit", sid, schema, redis_url, pg_dsn, tmp_path / "a2.jsonl", tmp_path / "n2.log")
    try:
        second.wait(120)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, (tmp_path / "n2.log").read_text()[-3000:]

    run1, run2 = _audit(tmp_path / "a1.jsonl"), _audit(tmp_path / "a2.jsonl")
    # The resumed process found the very snapshot the crashed one left, and the guard's state.
    start = run2[0]
    assert start["event"] == "start" and start["resume"] is not None
    assert msgspec.json.decode(msgspec.json.encode(start["resume"]), type=PairSnapshot) == opened
    assert start["guard"]["state"]["peak_equity_krw"] == "300000000" and "GLOBAL" in start["guard"]["cooldowns"]

    # No duplicate order: the entry legs were sent once (run 1), the resumed run sent only the exit legs.
    sent1 = [r for r in run1 if r["event"] == "submitted"]
    sent2 = [r for r in run2 if r["event"] == "submitted"]
    assert sorted((r["instrument_id"], r["side"]) for r in sent1) == [("BTCUSDT.BINANCE", "BUY"), ("KRW-BTC.UPBIT", "SELL")]
    assert all("intent=entry" in r["tags"] for r in sent1)
    assert sorted((r["instrument_id"], r["side"]) for r in sent2) == [("BTCUSDT.BINANCE", "SELL"), ("KRW-BTC.UPBIT", "BUY")]
    assert all("intent=exit" in r["tags"] for r in sent2)
    ids = [r["client_order_id"] for r in sent1 + sent2]
    assert len(ids) == len(set(ids)) == 4

    # The same pair closed normally: FLAT, one round trip, and the session's PnL counter spans both runs.
    final = decode_pair_snapshot(client.get(snapshot_key))
    assert final.status is PairStatus.FLAT and final.round_trips == 1 and not final.working_orders
    fills = [msgspec.json.decode(r["data"]) for r in pg_fetch(
        pg_dsn, schema, "SELECT data FROM position_snapshots WHERE session_id = $1 AND kind = 'fill' ORDER BY id", sid)]
    assert sorted(f["client_order_id"] for f in fills) == sorted(ids)
    assert Decimal(final.realized_pnl_krw) == sum(_cash_flow_krw(f) for f in fills)

    session = pg_fetch(pg_dsn, schema, "SELECT status, starts FROM sessions WHERE session_id = $1", sid)[0]
    assert (session["status"], session["starts"]) == ("stopped", 2)
    client.close()
