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
