"""Fixtures shared by every suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from meshfabric.store.postgres import PostgresStore
from meshfabric.store.sql import SqlStore
from meshfabric.store.sqlite import SqliteStore
from tests.support.control_plane import ControlPlane
from tests.support.postgres import PostgresServer

# The modules that take longest (each from several minutes to over twenty on a loaded machine),
# in the order they start: xdist (`--dist loadscope --no-loadscope-reorder`, Makefile) hands out
# whole modules in collection order, so these begin at once on separate workers and the many
# short modules fill the time around them. test_roles_lab.py stays before test_upgrade_lab.py:
# within one process they share a deployment, which the latter upgrades and tears down.
LONGEST_FIRST = (
    "tests/integration/ansible/test_roles_lab.py",
    "tests/integration/ansible/test_upgrade_lab.py",
    "tests/integration/ansible/test_molecule.py",
    "tests/integration/demo/test_multizone_demo.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.partition("::")[0]
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: every other test keeps its place


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[SqlStore]:
    opened: SqlStore
    if backend == "sqlite":
        opened = SqliteStore(tmp_path / "store.db")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        opened = PostgresStore(server.new_database())
    yield opened
    await opened.close()


@pytest.fixture
def control_plane_env(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """Environment that points a control-plane process at the backend under test."""
    if backend == "sqlite":
        return {}
    server: PostgresServer = request.getfixturevalue("postgres")
    return {
        "MESHFABRIC_STORE__TYPE": "postgres",
        "MESHFABRIC_STORE__POSTGRES__DSN": server.new_database(),
    }


@pytest.fixture
def start_control_plane(tmp_path: Path) -> Iterator[Callable[..., ControlPlane]]:
    started: list[ControlPlane] = []

    def start(env: dict[str, str] | None = None, *args: str, name: str = "cp") -> ControlPlane:
        cp = ControlPlane(tmp_path / name, env, *args).start()
        started.append(cp)
        return cp

    yield start
    for cp in started:
        cp.stop()
