"""The Redis keyspace: the SPEC's examples verbatim, TTLs, part checks, and one home for every key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arb_plugin.settings import Environment
from arb_plugin.state import keys as keys_module
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder as SessionKeys


@pytest.fixture
def KeyBuilder() -> SessionKeys:
    return SessionKeys(env=Environment.DEVELOPMENT.short, session_id="session_123")


def test_spec_example_state_position(KeyBuilder: SessionKeys) -> None:
    assert (
        KeyBuilder(Domain.STATE, symbol="BTCUSDT", field="position")
        == "arbitrage:dev:session_123:STATE:BTCUSDT:position"
    )


def test_spec_example_metrics_without_field(KeyBuilder: SessionKeys) -> None:
    assert KeyBuilder(Domain.METRICS, symbol="ETHUSDT") == "arbitrage:dev:session_123:METRICS:ETHUSDT"


def test_absent_parts_are_left_out(KeyBuilder: SessionKeys) -> None:
    assert KeyBuilder(Domain.PORTFOLIO) == "arbitrage:dev:session_123:PORTFOLIO"
    assert KeyBuilder(Domain.STATE, field="trading_state") == "arbitrage:dev:session_123:STATE:trading_state"
    assert SessionKeys("prod", None)(None, field="logs") == "arbitrage:prod:logs"


def test_ttls_exactly_as_the_spec() -> None:
    assert {d.value: d.ttl_secs for d in Domain} == {
        "STATE": 3600,
        "METRICS": 120,
        "GUARD": 7200,
        "COOLDOWN": 3600,
        "PORTFOLIO": 3600,  # chosen, documented in keys.py
        "SNAPSHOT": 86400,
        "WS": 120,  # chosen, documented in keys.py
    }


def test_chosen_ttls_are_documented() -> None:
    doc = keys_module.__doc__ or ""
    assert re.search(r"PORTFOLIO\s+3 600\s+\*chosen\*", doc)
    assert re.search(r"WS\s+120\s+\*chosen\*", doc)


@pytest.mark.parametrize("bad", ["", "a:b", "BTC USDT", "BTC*", "x?", "[a]", "tab\tx"])
def test_bad_parts_are_refused_with_the_part_named(KeyBuilder: SessionKeys, bad: str) -> None:
    with pytest.raises(ValueError, match="symbol="):
        KeyBuilder(Domain.STATE, symbol=bad, field="position")
    with pytest.raises(ValueError, match="session_id="):
        SessionKeys("dev", bad)


def test_symbol_needs_a_domain_and_a_key_needs_something() -> None:
    keys = SessionKeys("dev", "s1")
    with pytest.raises(ValueError, match="needs a domain"):
        keys(None, symbol="BTCUSDT")
    with pytest.raises(ValueError, match="at least"):
        keys(None)


def test_parse_round_trips(KeyBuilder: SessionKeys) -> None:
    key = KeyBuilder(Domain.STATE, symbol="KRW-BTC.UPBIT", field="position")
    parts = KeyBuilder.parse(key)
    assert (parts.env, parts.session_id, parts.domain, parts.symbol, parts.field) == (
        "dev",
        "session_123",
        Domain.STATE,
        "KRW-BTC.UPBIT",
        "position",
    )
    assert KeyBuilder.parse(KeyBuilder(Domain.SNAPSHOT, "BTCUSDT").encode()).symbol == "BTCUSDT"
    with pytest.raises(ValueError, match="not under"):
        KeyBuilder.parse("arbitrage:dev:other:STATE:BTCUSDT")
    with pytest.raises(ValueError, match="unknown domain"):
        KeyBuilder.parse("arbitrage:dev:session_123:NOPE:BTCUSDT")


def test_patterns_stay_inside_the_session(KeyBuilder: SessionKeys) -> None:
    assert KeyBuilder.pattern(Domain.SNAPSHOT) == "arbitrage:dev:session_123:SNAPSHOT:*"
    assert KeyBuilder.pattern(Domain.STATE, "position") == "arbitrage:dev:session_123:STATE:*:position"
    assert KeyBuilder.session_pattern() == "arbitrage:dev:session_123:*"


# -- one home: no other code builds an "arbitrage:" key ---------------------------------------------------

_KEY_LITERAL = re.compile(r"""["'](?:arbitrage:|arbitrage["'])|KEY_PREFIX\s*[+%]|\{KEY_PREFIX\}""")
_SCANNED = ("arb_plugin", "adapters", "bench", "tests", "deploy", "scripts")
_THIS_FILE = Path(__file__).resolve()


def test_no_code_but_keybuilder_builds_a_redis_key(repo_root: Path) -> None:
    keys_py = (repo_root / "arb_plugin" / "state" / "keys.py").resolve()
    offenders: list[str] = []
    for top in _SCANNED:
        folder = repo_root / top
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            if path.suffix not in (".py", ".sh", ".lua", ".toml", ".yml", ".yaml") or ".venv" in path.parts:
                continue
            if path.resolve() in (keys_py, _THIS_FILE):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), 1):
                if _KEY_LITERAL.search(line):
                    offenders.append(f"{path.relative_to(repo_root)}:{number}: {line.strip()}")
    assert not offenders, "Redis keys must be built by KeyBuilder only:\n" + "\n".join(offenders)


def test_the_grep_catches_a_hand_built_key() -> None:
    # The pattern the test above relies on: these hand-built keys are caught.
    for line in (
        'key = f"arbitrage:{env}:{sid}:STATE"',
        "k = 'arbitrage:dev:x'",
        'parts = ["arbitrage", env]',
    ):
        assert _KEY_LITERAL.search(line), line
