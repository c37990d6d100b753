"""Guard state payloads: JSON round trip through a GuardStateSnapshot, validated on restore, bad parts skipped."""

from __future__ import annotations

import pytest

from arb_plugin.events import GuardStateSnapshot
from arb_plugin.risk.state import GlobalGuardState
from arb_plugin.risk.state import SymbolGuardState
from arb_plugin.risk.state import cooldown_scopes
from arb_plugin.risk.state import decode_snapshot
from arb_plugin.risk.state import parse_snapshot
from arb_plugin.risk.state import to_dict

GLOBAL = GlobalGuardState(
    ts_event=1,
    currency="KRW",
    trading_day="2024-08-01",
    daily_pnl="-150000.5",
    equity="-150000.5",
    peak_equity="20000",
    halted=True,
    halt_guard="MAX_DAILY_LOSS",
    halt_reason="MAX_DAILY_LOSS: daily PnL -500,001 KRW < -500,000 KRW",
    cooldown_until_ns=5,
    cooldown_cause="MAX_DAILY_LOSS",
)
SYMBOL = SymbolGuardState(ts_event=1, trading_day="2024-08-01", daily_pnl="-1", cooldown_until_ns=99)


def test_a_snapshot_round_trips_through_json_with_exact_decimals() -> None:
    snapshot = GuardStateSnapshot(
        state=to_dict(GLOBAL),
        cooldowns={"GLOBAL": 5, "BTCUSDT": 99},
        ts_event=1,
        symbols={"BTCUSDT": to_dict(SYMBOL)},
    )
    data = snapshot.to_json()
    assert b'"daily_pnl":"-150000.5"' in data  # decimals travel as strings
    restored = parse_snapshot(decode_snapshot(data))
    assert restored.errors == []
    assert restored.global_state == GLOBAL
    assert restored.symbols == {"BTCUSDT": SYMBOL}
    assert restored.cooldowns == {None: 5, "BTCUSDT": 99}  # the global scope is None on the guard's side


def test_a_snapshot_without_symbols_encodes_without_them() -> None:
    data = GuardStateSnapshot(state={}, cooldowns={}, ts_event=3).to_json()
    assert data == b'{"state":{},"cooldowns":{},"ts_event":3}'
    assert parse_snapshot(decode_snapshot(data)).global_state is None  # empty state: nothing kept, no error


def test_bad_parts_are_reported_and_skipped_while_good_ones_load() -> None:
    good = to_dict(SYMBOL)
    snapshot = GuardStateSnapshot(
        state={**to_dict(GLOBAL), "daily_pnl": "lots"},
        cooldowns={},
        ts_event=1,
        symbols={
            "BTCUSDT": good,
            "ETHUSDT": {**good, "surprise": 1},
            "XRPUSDT": {**good, "cooldown_until_ns": "soon"},
            "SOLUSDT": {"daily_pnl": "-1"},
        },
    )
    restored = parse_snapshot(snapshot)
    assert restored.global_state is None
    assert list(restored.symbols) == ["BTCUSDT"]
    errors = restored.errors
    assert len(errors) == 4
    assert any("<global>" in e and "daily_pnl='lots'" in e for e in errors)
    assert any("ETHUSDT" in e and "surprise" in e for e in errors)
    assert any("XRPUSDT" in e and "cooldown_until_ns" in e for e in errors)
    assert any("SOLUSDT" in e and "ts_event" in e for e in errors)


def test_unknown_halt_guard_is_rejected() -> None:
    restored = parse_snapshot(
        GuardStateSnapshot(state={**to_dict(GLOBAL), "halt_guard": "COFFEE"}, cooldowns={}, ts_event=1),
    )
    assert restored.global_state is None
    assert len(restored.errors) == 1 and "halt_guard='COFFEE'" in restored.errors[0]


@pytest.mark.parametrize("data", [b"{not json", b'{"state": 5}', b"[1, 2]"])
def test_a_value_that_is_no_snapshot_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a GuardStateSnapshot"):
        decode_snapshot(data)


def test_only_running_cooldowns_are_published() -> None:
    assert cooldown_scopes({None: 10, "BTCUSDT": 5, "ETHUSDT": 0, "XRPUSDT": 11}, now_ns=5) == {
        "GLOBAL": 10,
        "XRPUSDT": 11,
    }
