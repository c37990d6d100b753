from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def upbit_fixture(upbit_fixtures: Path) -> Callable[[str], bytes]:
    """Return the bytes of one file in shared/fixtures/upbit, exactly as stored."""

    def read(name: str) -> bytes:
        return (upbit_fixtures / name).read_bytes()

    return read
