"""Guard state payloads: JSON-able, validated on load, bad ones reported and skipped."""

from __future__ import annotations

import json

from arb_plugin.risk.state import CooldownState
from arb_plugin.risk.state import GlobalGuardState
from arb_plugin.risk.state import GuardDomain
from arb_plugin.risk.state import GuardStateStore
from arb_plugin.risk.state import InMemoryGuardStateStore
from arb_plugin.risk.state import SymbolGuardState
from arb_plugin.risk.state import parse_states
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


def test_in_memory_store_round_trips_through_json() -> None:
    store = InMemoryGuardStateStore()
    assert isinstance(store, GuardStateStore)
    symbol = SymbolGuardState(ts_event=1, trading_day="2024-08-01", daily_pnl="-1", cooldown_until_ns=99)
    store.save(GuardDomain.GUARD, None, to_dict(GLOBAL))
    store.save(GuardDomain.GUARD, "BTCUSDT", to_dict(symbol))
    store.save(GuardDomain.COOLDOWN, "BTCUSDT", to_dict(CooldownState("SYMBOL_COOLDOWN", 99, "losing close")))
    raw = store.load_raw(GuardDomain.GUARD, None)
    assert raw is not None
    assert json.loads(raw)["daily_pnl"] == "-150000.5"  # decimals travel as strings
    states, errors = parse_states(store.load(GuardDomain.GUARD), GlobalGuardState, SymbolGuardState)
    assert errors == []
    assert states == {None: GLOBAL, "BTCUSDT": symbol}
    cooldowns, _ = parse_states(store.load(GuardDomain.COOLDOWN), CooldownState, CooldownState)
    assert cooldowns == {"BTCUSDT": CooldownState("SYMBOL_COOLDOWN", 99, "losing close")}
    assert len(store.snapshots) == 2  # every GUARD save, in order (risk_guard_snapshots)


def test_a_bad_payload_is_reported_and_skipped_while_good_ones_load() -> None:
    good = to_dict(SymbolGuardState(ts_event=1, trading_day="2024-08-01", daily_pnl="-1"))
    raw = {
        None: {**to_dict(GLOBAL), "daily_pnl": "lots"},
        "BTCUSDT": good,
        "ETHUSDT": {**good, "surprise": 1},
        "XRPUSDT": {**good, "cooldown_until_ns": "soon"},
        "SOLUSDT": "not a dict",
    }
    states, errors = parse_states(raw, GlobalGuardState, SymbolGuardState)
    assert list(states) == ["BTCUSDT"]
    assert len(errors) == 4
    assert any("<global>" in e and "daily_pnl='lots'" in e for e in errors)
    assert any("ETHUSDT" in e and "surprise" in e for e in errors)
    assert any("XRPUSDT" in e and "cooldown_until_ns" in e for e in errors)
    assert any("SOLUSDT" in e for e in errors)


def test_unknown_halt_guard_is_rejected() -> None:
    _, errors = parse_states({None: {**to_dict(GLOBAL), "halt_guard": "COFFEE"}}, GlobalGuardState, SymbolGuardState)
    assert len(errors) == 1
    assert "halt_guard='COFFEE'" in errors[0]
