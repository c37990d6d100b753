"""Deployment files: the compose file's services and health checks, the Dockerfile, the systemd unit."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from arb_plugin.cli import build_parser


@pytest.fixture(scope="module")
def compose(repo_root: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((repo_root / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))
    return data


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    return env if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_services_images_and_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"engine", "redis", "postgres"} <= set(services)
    assert re.fullmatch(r"redis:7(\.\d+)*(-\w+)?", services["redis"]["image"])
    assert re.fullmatch(r"postgres:15(\.\d+)*(-\w+)?", services["postgres"]["image"])
    assert services["engine"]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    declared = set(compose["volumes"])
    mounts = {name: [v.split(":", 1) for v in svc.get("volumes", [])] for name, svc in services.items()}
    assert ["pg-data", "/var/lib/postgresql/data"] in mounts["postgres"]
    assert ["redis-data", "/data"] in mounts["redis"]
    assert ["engine-logs", "/app/logs"] in mounts["engine"]
    used = {source for vols in mounts.values() for source, _ in vols}
    assert used == declared


def test_every_service_has_a_health_check_and_the_engine_waits_for_them(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("engine", "redis", "postgres"):
        check = services[name]["healthcheck"]
        assert check["test"] and check["interval"] and check["retries"] >= 3, name
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]
    engine_check = " ".join(services["engine"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8080/health" in engine_check and "status == 200" in engine_check
    depends = services["engine"]["depends_on"]
    assert depends["redis"] == {"condition": "service_healthy"}
    assert depends["postgres"] == {"condition": "service_healthy"}
    assert depends["migrate"] == {"condition": "service_completed_successfully"}
    assert services["engine"]["stop_signal"] == "SIGINT"


def test_engine_environment_and_ports(compose: dict[str, Any]) -> None:
    engine = compose["services"]["engine"]
    env = _env(engine)
    assert env["ARB_REDIS_URL"] == "redis://redis:6379/0"
    assert env["ARB_POSTGRES_DSN"].endswith("@postgres:5432/arbitrage")
    assert env["ARB_OBSERVABILITY__HEALTH_HOST"] == "0.0.0.0"
    assert env["ARB_SESSION_ID"] == "${ARB_SESSION_ID:-main}"  # restart: resume, not a fresh session
    assert engine["ports"] == ["127.0.0.1:8080:8080"]  # /health published on the host's loopback only
    # Secrets are never literal: each comes from the caller's environment.
    for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET", "UPBIT_ACCESS_KEY", "UPBIT_SECRET_KEY"):
        assert env[name] == f"${{{name}:-}}"
    assert "${POSTGRES_PASSWORD:?" in env["ARB_POSTGRES_DSN"]
    assert _env(compose["services"]["postgres"])["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_engine_command_is_a_real_arb_command(compose: dict[str, Any]) -> None:
    command = compose["services"]["engine"]["command"]
    default = re.fullmatch(r"\$\{ARB_COMMAND:-(.+)\}", command)
    assert default is not None
    args = build_parser().parse_args(shlex.split(default.group(1)))
    assert args.command == "paper"
    migrate = build_parser().parse_args(compose["services"]["migrate"]["command"])
    assert (migrate.command, migrate.db_command, migrate.dir) == ("db", "migrate", Path("/app/migrations"))


def test_the_session_comes_from_the_option_then_the_environment() -> None:
    from arb_plugin.commands.live import session_for

    parser = build_parser()
    assert session_for(parser.parse_args(["paper"]), {}) is None  # a new session
    assert session_for(parser.parse_args(["paper"]), {"ARB_SESSION_ID": "main"}) == "main"
    assert session_for(parser.parse_args(["paper", "--session", "s1"]), {"ARB_SESSION_ID": "main"}) == "s1"
    assert session_for(parser.parse_args(["live", "--confirm-live"]), {"ARB_SESSION_ID": ""}) is None


def test_dockerfile(repo_root: Path) -> None:
    text = (repo_root / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line.split(None, 1) for line in text.replace("\\\n", " ").splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    by_name: dict[str, list[str]] = {}
    for name, *rest in instructions:
        by_name.setdefault(name, []).append(rest[0] if rest else "")
    assert re.fullmatch(r"python:3\.1[2-9][\w.-]*", by_name["FROM"][0])
    assert by_name["USER"] == ["arb"]
    assert by_name["ENTRYPOINT"] == ['["arb"]']
    assert by_name["STOPSIGNAL"] == ["SIGINT"]
    assert "http://127.0.0.1:8080/health" in by_name["HEALTHCHECK"][0]
    # the package, with the known-good versions of its dependencies (constraints.txt in the build context)
    assert any("pip install -c constraints.txt ." in run for run in by_name["RUN"])
    assert "constraints.txt" in next(c for c in by_name["COPY"] if c.startswith("pyproject.toml"))
    # the compiled Upbit orderbook path is built (setup.py in the build context, a compiler) and checked
    assert "setup.py" in next(c for c in by_name["COPY"] if c.startswith("pyproject.toml"))
    assert any("gcc" in run and "import adapters.upbit.units_parser" in run for run in by_name["RUN"])


def test_systemd_unit(repo_root: Path) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((repo_root / "deploy" / "arbitrage.service").read_text(encoding="utf-8"))
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    assert "redis-server.service" in unit["Unit"]["After"] and "postgresql.service" in unit["Unit"]["After"]
    service = unit["Service"]
    assert service["ExecStart"] == "/opt/arb-plugin/.venv/bin/arb $ARB_COMMAND"
    assert service["KillSignal"] == "SIGINT"
    assert service["Restart"] == "on-failure"
    text = (repo_root / "deploy" / "arbitrage.service").read_text(encoding="utf-8")
    assert "\nEnvironment=ARB_SESSION_ID=main\n" in text  # a restart resumes the session, not a fresh one
    assert service["User"] == "arb"
    assert service["EnvironmentFile"] == "/etc/arb-plugin/arbitrage.env"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
