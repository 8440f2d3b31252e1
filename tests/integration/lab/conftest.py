"""One kong-air lab, built with `meshfabric-lab up`, shared by the tests that only read it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meshfabric.lab import Lab
from tests.integration.lab.support import lab_cli, state_dir


@pytest.fixture(scope="session")
def kong_air() -> Iterator[Lab]:
    with state_dir() as state:
        lab_cli("up", "--topology", "kong-air", "--state-dir", str(state))
        try:
            yield Lab.open(state)
        finally:
            lab_cli("down", "--state-dir", str(state))
