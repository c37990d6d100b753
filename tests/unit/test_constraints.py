"""constraints.txt: the known-good version of every dependency, within pyproject's ranges, and installed."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, pinned = line.partition("==")
        assert sep, f"constraints.txt: {line!r} is not a '==' pin"
        assert _normalized(name) not in pins, f"constraints.txt pins {name} twice"
        pins[_normalized(name)] = Version(pinned)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return [Requirement(r) for r in requirements]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pins = _pins()
    for requirement in _declared():
        name = _normalized(requirement.name)
        assert name in pins, f"constraints.txt has no pin for {requirement.name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {requirement.name}=={pins[name]}, outside pyproject's {requirement}"
        )


def test_nautilus_trader_is_the_pinned_release() -> None:
    assert _pins()["nautilus-trader"] == Version("1.231.0")


def test_the_environment_was_installed_with_the_constraints() -> None:
    pins = _pins()
    for requirement in _declared():
        installed = Version(version(requirement.name))
        assert installed == pins[_normalized(requirement.name)], (
            f"{requirement.name} {installed} is installed, constraints.txt pins {pins[_normalized(requirement.name)]}:"
            " reinstall with `make install`"
        )
