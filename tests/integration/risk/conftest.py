from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.risk.harness import Setup
from tests.integration.risk.harness import build


@pytest.fixture
def make() -> Iterator[Callable[..., Setup]]:
    """``build(...)`` that disposes every engine it made after the test."""
    made: list[Setup] = []

    def factory(*args: Any, **kwargs: Any) -> Setup:
        setup = build(*args, **kwargs)
        made.append(setup)
        return setup

    yield factory
    for setup in made:
        setup.engine.dispose()
