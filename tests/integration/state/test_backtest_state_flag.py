"""
``arb backtest --state``: the project's BacktestNode on the shipped catalog with the StateBridge added, the
real ArbitrageStrategy and the risk guard, against the real Redis and PostgreSQL. Without the flag the
backtest needs neither (``make demo``; the report tests run that way).
"""

from __future__ import annotations

import os
import subprocess
import sys

import msgspec
import pytest
import redis

from arb_plugin.cli import main
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.validate import decode_guard_state
from arb_plugin.state.validate import decode_pair_snapshot

from .conftest import pg_fetch

pytestmark = pytest.mark.integration


def test_backtest_with_state_writes_the_guard_and_pair_state(
    schema: str, pg_dsn: str, redis_url: str, session_keys: KeyBuilder, sid: str, repo_root, tmp_path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_") or k == "ARB_SHARED_DIR"}
    env.update(
        ARB_STATE__POSTGRES_SCHEMA=schema, ARB_STATE__REDIS_URL=redis_url, ARB_STATE__POSTGRES_DSN=pg_dsn,
    )
    r = subprocess.run(
        [sys.executable, "-m", "arb_plugin.cli", "backtest", "--state", "--session-id", sid, "--no-progress",
         "--no-tearsheet", "--out", str(tmp_path), "--start", "2024-12-03", "--end", "2024-12-05"],
        capture_output=True, text=True, cwd=repo_root, env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"state: session {sid} (Redis keys arbitrage:dev:{sid}:*, PostgreSQL schema {schema})" in r.stdout
    summary = msgspec.json.decode((tmp_path / "summary.json").read_bytes())

    client = redis.Redis.from_url(redis_url)
    # The guard's state, published by the gate and written by the bridge: global and the traded symbol.
    top = decode_guard_state(client.get(session_keys(Domain.GUARD)))
    btc = decode_guard_state(client.get(session_keys(Domain.GUARD, "BTCUSDT")))
    assert top.state["trading_day"] == "2024-12-05" and top.state["halted"] is False
    assert btc.state["trading_day"] == "2024-12-05"
    assert 7_000 < client.ttl(session_keys(Domain.GUARD, "BTCUSDT")) <= 7_200
    # The strategy's pair, next to it.
    pair = decode_pair_snapshot(client.get(session_keys(Domain.SNAPSHOT, "BTCUSDT")))
    assert pair.round_trips == summary["trades"]["round_trips"] >= 1
    client.close()

    rows = pg_fetch(
        pg_dsn,
        schema,
        "SELECT symbol, count(*) AS n, max(ts_event) AS last FROM risk_guard_snapshots WHERE session_id = $1 "
        "AND kind = 'GUARD' GROUP BY symbol ORDER BY symbol NULLS FIRST",
        sid,
    )
    assert [r["symbol"] for r in rows] == [None, "BTCUSDT"]
    assert all(r["n"] >= 2 for r in rows)  # one row per published change (every fill's PnL at least)
    assert rows[0]["last"] == top.ts_event
    assert pg_fetch(pg_dsn, schema, "SELECT status FROM sessions WHERE session_id = $1", sid)[0][0] == "stopped"


def test_state_options_are_checked_before_the_backtest_runs(monkeypatch, capsys, unique_id: str) -> None:
    assert main(["backtest", "--session-id", "s1"]) == 2
    assert "--session-id needs --state" in capsys.readouterr().err
    assert main(["backtest", "--state", "--session-id", "two words"]) == 2
    assert "--session-id: key part session_id='two words' is not allowed" in capsys.readouterr().err
    monkeypatch.setenv("ARB_STATE__POSTGRES_SCHEMA", f"{unique_id}_none")
    assert main(["backtest", "--state"]) == 2
    assert f"schema '{unique_id}_none' has no state tables; run `arb db migrate` first" in capsys.readouterr().err
