"""
The paper node's stop and failure paths, each in its own process (as ``arb paper`` runs), against both fake
venues:

- a stop (the path SIGINT and SIGTERM take) cancels working orders when ``node.cancel_orders_on_stop`` is set,
  and leaves them when it is not; the session is marked stopped either way;
- an exception inside an engine's queue shuts the node down gracefully (cancelling working orders per
  ``node.cancel_orders_on_stop`` too), is logged with its traceback (to the file and ``system_logs``), and
  the run ends with status 1 (never NautilusTrader's silent ``os._exit(1)``,
  reference §9 P2).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from arb_plugin.state.keys import KeyBuilder
from tests.integration.live.conftest import pg_fetch
from tests.integration.live.paper_venues import PaperVenues

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def venues(market_dir: Path) -> Iterator[PaperVenues]:
    v = PaperVenues(market_dir).start_in_thread()
    yield v
    v.stop_thread()


@pytest.fixture
def session(unique_id: str, redis_url: str) -> Iterator[str]:
    """The run's session id; its Redis keys are deleted afterwards, pass or fail."""
    session_id = f"life-{unique_id}"
    yield session_id
    _cleanup(redis_url, session_id)


def _run_child(venues: PaperVenues, tmp_path: Path, schema: str, session: str, scenario: str,
               repo_root: Path, **overrides: str) -> dict[str, Any]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ARB_", "BINANCE_", "UPBIT_"))}
    environ.update(venues.node_environ())
    environ.update({
        "ARB_STATE__POSTGRES_SCHEMA": schema,
        "ARB_OBSERVABILITY__LOG_DIR": str(tmp_path),
        "ARB_OBSERVABILITY__HEALTH_PORT": "0",
        "ARB_NODE__RECONCILIATION_STARTUP_DELAY_SECS": "1",
        "ARB_NODE__TIMEOUT_POST_STOP_SECS": "0.3",
        "ARB_RISK__ENABLED": "false",  # the resting bid is not an arbitrage pair
        **overrides,
    })
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("node_child.py")), scenario, session],
        cwd=repo_root, env=environ, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    # disposed cleanly: no task left on the closed loop, nothing reported by Python at exit
    assert outcome.pop("pending_tasks") == []
    assert "Exception ignored" not in result.stderr, result.stderr[-3000:]
    return outcome


@pytest.mark.parametrize(("cancel", "expected"), [("true", "CANCELED"), ("false", "ACCEPTED")])
def test_stop_cancels_working_orders_per_setting(
    venues: PaperVenues, tmp_path: Path, logs_schema: str, pg_dsn: str, session: str, repo_root: Path,
    cancel: str, expected: str,
) -> None:
    outcome = _run_child(venues, tmp_path, logs_schema, session, "stop", repo_root,
                         ARB_NODE__CANCEL_ORDERS_ON_STOP=cancel)
    assert outcome["status_before"] == "ACCEPTED"  # working on the sandbox venue when the stop came
    assert outcome["status_after"] == expected
    assert (outcome["rc"], outcome["failed"], outcome["reason"]) == (0, False, "received SIGINT")
    (row,) = asyncio.run(pg_fetch(pg_dsn, logs_schema, "SELECT status FROM sessions WHERE session_id = $1", session))
    assert row["status"] == "stopped"


def test_engine_exception_is_logged_and_stops_the_node(
    venues: PaperVenues, tmp_path: Path, logs_schema: str, pg_dsn: str, session: str, repo_root: Path,
) -> None:
    outcome = _run_child(venues, tmp_path, logs_schema, session, "boom", repo_root,
                         ARB_NODE__CANCEL_ORDERS_ON_STOP="true")
    assert outcome["rc"] == 1 and outcome["failed"] is True
    assert outcome["status_after"] == "CANCELED"  # cancel_orders_on_stop holds on this path too
    assert "RuntimeError" in outcome["reason"] and "boom" in outcome["reason"]
    records = [json.loads(line) for line in (tmp_path / "arbitrage_staging.log").read_text().splitlines()]
    traced = [r for r in records if r["level"] == "ERROR" and "Traceback" in r["message"] and "boom" in r["message"]]
    assert traced and traced[0]["source"] == "nautilus"  # NautilusTrader's own log line, routed in
    assert any(r["component"] == "LiveNode" and r["message"].startswith("node stopped: ") for r in records)
    errors = asyncio.run(pg_fetch(pg_dsn, logs_schema, "SELECT * FROM system_logs WHERE session_id = $1 "
                                  "AND level = 'ERROR'", session))
    assert any("Traceback" in row["message"] and "boom" in row["message"] for row in errors)
    (row,) = asyncio.run(pg_fetch(pg_dsn, logs_schema, "SELECT status FROM sessions WHERE session_id = $1", session))
    assert row["status"] == "stopped"


def _cleanup(redis_url: str, session: str) -> None:
    client = redis.Redis.from_url(redis_url)
    found = list(client.scan_iter(match=KeyBuilder("stg", session).session_pattern(), count=1000))
    if found:
        client.delete(*found)
    client.close()
