"""LoggingManager: policy per environment (the SPEC's table), categories, records, redaction, routing."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest

from arb_plugin.observability.logging import LOG_POLICIES
from arb_plugin.observability.logging import REDACTED
from arb_plugin.observability.logging import LogCategory
from arb_plugin.observability.logging import LoggingManager
from arb_plugin.observability.logging import LoggingTargets
from arb_plugin.observability.logging import LogLevel
from arb_plugin.observability.logging import Redactor
from arb_plugin.observability.nautilus_logs import nautilus_category
from arb_plugin.observability.nautilus_logs import parse_timestamp_ns
from arb_plugin.settings import Environment


def _spec_section(shared_dir: Path) -> str:
    text = (shared_dir / "SPEC.md").read_text(encoding="utf-8")
    start = text.index("### Logging and monitoring")
    return text[start : text.index("\n### ", start + 10)]


def test_policies_are_the_spec_table(shared_dir: Path) -> None:
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in _spec_section(shared_dir).splitlines()
        if line.strip().startswith("|") and not line.strip().startswith("| ---")
    ]
    header, *body = rows
    assert header == ["env", "min level", "file", "console", "redis", "postgres"]
    assert len(body) == 3
    for env_name, min_level, file, console, redis, postgres in body:
        policy = LOG_POLICIES[Environment(env_name)]
        assert policy.min_level == LogLevel.parse(min_level)
        assert policy.file is (file == "yes")
        assert policy.console is (console == "yes")
        assert policy.redis is (redis == "yes")
        assert postgres == "WARNING+"
        assert policy.postgres_min_level == LogLevel.WARNING
    assert LOG_POLICIES[Environment.PRODUCTION].console is False


def test_categories_are_the_spec_ten(shared_dir: Path) -> None:
    match = re.search(r"- Categories: ([A-Z, \n]+)\.", _spec_section(shared_dir))
    assert match is not None
    names = [n.strip() for n in match.group(1).replace("\n", " ").split(",")]
    assert [c.value for c in LogCategory] == names
    assert len(names) == 10


def _manager(
    tmp_path: Path, env: Environment, console: io.StringIO, secrets: tuple[str, ...] = (),
) -> LoggingManager:
    return LoggingManager(env, "sess-1", LoggingTargets(tmp_path), secrets=secrets, console=console).start()


def _file_records(manager: LoggingManager) -> list[dict[str, object]]:
    return [json.loads(line) for line in manager.file_path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("env", "kept", "has_console"),
    [
        (Environment.DEVELOPMENT, ["DEBUG", "INFO", "WARNING", "ERROR"], True),
        (Environment.STAGING, ["INFO", "WARNING", "ERROR"], True),
        (Environment.PRODUCTION, ["WARNING", "ERROR"], False),
    ],
)
def test_levels_and_backends_per_environment(
    tmp_path: Path, env: Environment, kept: list[str], has_console: bool,
) -> None:
    console = io.StringIO()
    manager = _manager(tmp_path, env, console)
    log = manager.get_logger(LogCategory.ENGINE, "test")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    manager.stop()
    assert manager.file_path == tmp_path / f"arbitrage_{env.value}.log"
    assert [r["level"] for r in _file_records(manager)] == kept
    assert ("console" in manager.backend_names) is has_console
    console_levels = re.findall(r" (DEBUG|INFO|WARNING|ERROR) ", console.getvalue())
    assert console_levels == (kept if has_console else [])


def test_file_lines_are_structured_json(tmp_path: Path) -> None:
    manager = _manager(tmp_path, Environment.DEVELOPMENT, io.StringIO())
    manager.get_logger(LogCategory.TRADE, "ArbitrageStrategy").info(
        "entered BTCUSDT", edge_bps="123.4", qty="0.01",
    )
    manager.stop()
    (record,) = _file_records(manager)
    assert record["level"] == "INFO"
    assert record["category"] == "TRADE"
    assert record["component"] == "ArbitrageStrategy"
    assert record["message"] == "entered BTCUSDT"
    assert record["context"] == {"edge_bps": "123.4", "qty": "0.01"}
    assert record["env"] == "development"
    assert record["session_id"] == "sess-1"
    assert record["source"] == "arb"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", str(record["ts"]))


def test_error_counts_and_listeners(tmp_path: Path) -> None:
    manager = _manager(tmp_path, Environment.STAGING, io.StringIO())
    seen: list[str] = []
    manager.add_listener(lambda r: seen.append(r.level.name))
    log = manager.get_logger(LogCategory.EXCHANGE, "x")
    log.debug("below the staging level: not counted")
    log.error("one")
    log.exception("two", ValueError("bad"))
    manager.stop()
    assert manager.counts[LogLevel.ERROR] == 2
    assert manager.counts[LogLevel.DEBUG] == 0
    assert seen == ["ERROR", "ERROR"]
    assert "ValueError: bad" in _file_records(manager)[1]["message"]  # type: ignore[operator]


def test_stdlib_logging_is_bridged(tmp_path: Path) -> None:
    manager = _manager(tmp_path, Environment.DEVELOPMENT, io.StringIO())
    handler = manager.stdlib_handler(LogCategory.SYNC)
    logger = logging.getLogger("arb-test-bridge")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.warning("redis slow: %s ms", 12)
    finally:
        logger.removeHandler(handler)
    manager.stop()
    (record,) = _file_records(manager)
    assert record["message"] == "redis slow: 12 ms"
    assert record["category"] == "SYNC"
    assert record["source"] == "python"
    assert record["component"] == "arb-test-bridge"


SECRET_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {SECRET_KEY} used", f"key {REDACTED} used"),
        (f"{SECRET_KEY}{SECRET}", f"{REDACTED}{REDACTED}"),
        ("api_key=abc123xyz&side=BUY", f"api_key={REDACTED}&side=BUY"),
        ('{"secret_key": "s3cr3t-value"}', f'{{"secret_key": "{REDACTED}"}}'),
        (
            "Authorization: Bearer eyJhbGciOiJIUzUxMiJ9.eyJhY2Nlc3Nfa2V5IjoiYSJ9.sig",
            f"Authorization: {REDACTED}",
        ),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJub25jZSI6IjEifQ.abc-def_1", f"token {REDACTED}"),
        ("redis://user:hunter22@127.0.0.1:6379/0", f"redis://user:{REDACTED}@127.0.0.1:6379/0"),
        ("X-MBX-APIKEY: 12345abcdef", f"X-MBX-APIKEY: {REDACTED}"),
        ("price=101.5 qty=0.01 BTCUSDT", "price=101.5 qty=0.01 BTCUSDT"),
    ],
)
def test_redactor(text: str, expected: str) -> None:
    assert Redactor([SECRET_KEY, SECRET]) (text) == expected


def test_secrets_never_reach_file_or_console(tmp_path: Path) -> None:
    console = io.StringIO()
    manager = _manager(tmp_path, Environment.DEVELOPMENT, console, secrets=(SECRET_KEY, SECRET))
    log = manager.get_logger(LogCategory.EXCHANGE, "BinanceHttp")
    log.info(f"signed request with {SECRET_KEY}", header=f"X-MBX-APIKEY: {SECRET_KEY}", secret=SECRET)
    log.error(f"auth failed secret={SECRET}")
    manager.stop()
    for text in (manager.file_path.read_text(encoding="utf-8"), console.getvalue()):
        assert SECRET_KEY not in text
        assert SECRET not in text
        assert REDACTED in text


@pytest.mark.parametrize(
    ("component", "category"),
    [
        ("BinanceWebSocketClient", LogCategory.WEBSOCKET),
        ("nautilus_network::websocket", LogCategory.WEBSOCKET),
        ("BinanceSpotDataClient-BINANCE", LogCategory.EXCHANGE),
        ("SandboxExecutionClient-UPBIT", LogCategory.EXCHANGE),
        ("BinanceSpotInstrumentProvider", LogCategory.EXCHANGE),
        ("RiskEngine", LogCategory.RISK),
        ("ArbRiskGate", LogCategory.RISK),
        ("GlobalGuard", LogCategory.GUARD),
        ("ExecEngine", LogCategory.TRADE),
        ("OrderMatchingEngine(UPBIT)", LogCategory.TRADE),
        ("ArbitrageStrategy-000", LogCategory.TRADE),
        ("Portfolio", LogCategory.POSITION),
        ("StateBridge-000", LogCategory.SYNC),
        ("Cache", LogCategory.SYNC),
        ("MetricsCollector-000", LogCategory.METRICS),
        ("DataEngine", LogCategory.ENGINE),
        ("TradingNode", LogCategory.ENGINE),
        ("SomethingElse", LogCategory.SYSTEM),
    ],
)
def test_nautilus_component_categories(component: str, category: LogCategory) -> None:
    assert nautilus_category(component) == category


def test_nautilus_timestamp_keeps_nanoseconds() -> None:
    assert parse_timestamp_ns("2026-11-24T07:12:52.218025442Z") == 1795504372_218025442
    assert parse_timestamp_ns("1970-01-01T00:00:01Z") == 1_000_000_000


def test_level_parse_rejects_unknown() -> None:
    assert LogLevel.parse("warn") is LogLevel.WARNING
    with pytest.raises(ValueError, match="'LOUD': must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"):
        LogLevel.parse("LOUD")
