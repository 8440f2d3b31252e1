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

# `make test` runs the suite in parallel workers (pytest-xdist, --dist loadgroup). A group runs
# in one worker, in order: a module's tests share its module-scoped fixtures (control planes,
# labs), and the tests that share a costly session fixture across modules run where it was made.
SHARED_SESSION_FIXTURES = ("deployment", "kong_air")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(worker_group(item)))


def worker_group(item: pytest.Item) -> str:
    fixtures = getattr(item, "fixturenames", ())
    shared = [name for name in SHARED_SESSION_FIXTURES if name in fixtures]
    return shared[0] if shared else item.nodeid.split("::", 1)[0]


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
