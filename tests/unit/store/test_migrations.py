"""Schema migrations on SQLite and on a real PostgreSQL server, from the unversioned schema."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from meshfabric.resources import ResourceKey
from meshfabric.store.migrations import LATEST_VERSION, MIGRATIONS, SchemaTooNew
from meshfabric.store.postgres import PostgresStore
from meshfabric.store.sql import SqlStore
from meshfabric.store.sqlite import SqliteStore
from tests.support.old_schema import (
    CREATED,
    MODIFIED,
    OLD_RESOURCES,
    create_old_postgres,
    create_old_sqlite,
)
from tests.support.postgres import PostgresServer


class Database:
    """One empty database of the backend under test, opened raw or as a store."""

    def __init__(self, backend: str, tmp_path: Path, postgres: PostgresServer | None) -> None:
        self.backend = backend
        self.path = tmp_path / "store.db"
        self.dsn = postgres.new_database() if postgres else ""

    def create_old(self) -> None:
        if self.backend == "sqlite":
            create_old_sqlite(self.path)
        else:
            create_old_postgres(self.dsn)

    def open_store(self) -> SqlStore:
        return SqliteStore(self.path) if self.backend == "sqlite" else PostgresStore(self.dsn)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._connect() as conn:
            return [tuple(row) for row in conn.execute(sql, params).fetchall()]

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with self._connect() as conn:
            conn.execute(sql, params)

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        if self.backend == "sqlite":
            with closing(sqlite3.connect(self.path)) as conn, conn:
                yield conn
        else:
            with psycopg.connect(self.dsn) as conn:
                yield conn

    def versions(self) -> list[int]:
        return [row[0] for row in self.query("SELECT version FROM schema_migrations ORDER BY 1")]


@pytest.fixture
def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Database:
    postgres = request.getfixturevalue("postgres") if backend == "postgres" else None
    return Database(backend, tmp_path, postgres)


def placeholder(database: Database) -> str:
    return "?" if database.backend == "sqlite" else "%s"


async def test_a_database_from_before_migrations_keeps_every_resource(database: Database) -> None:
    database.create_old()
    store = database.open_store()
    try:
        for type_, mesh, name, version, spec, labels, status in OLD_RESOURCES:
            read = await store.get(ResourceKey(type_, mesh, name))
            assert read is not None, f"{type_} {mesh}/{name} was lost"
            assert (read.version, read.spec, read.labels, read.status) == (
                version, spec, labels, status,
            )  # fmt: skip
            assert read.creation_time == datetime.fromisoformat(CREATED)
            assert read.modification_time == datetime.fromisoformat(MODIFIED)
        zone_services = await store.list("MeshService", None, {"kuma.io/zone": "us-east-1"})
        assert [r.name for r in zone_services.items] == ["flight-control"]
        quoted = await store.list("MeshTimeout", None, {"it's": "quoted"})
        assert [r.name for r in quoted.items] == ["slow"]
    finally:
        await store.close()
    assert database.versions() == list(range(1, LATEST_VERSION + 1))


async def test_a_migrated_database_takes_writes_and_keeps_versions(database: Database) -> None:
    database.create_old()
    store = database.open_store()
    try:
        old = await store.get(ResourceKey("MeshTimeout", "payments", "slow"))
        assert old is not None
        updated, created = await store.put(old, expected_version=4)
        assert not created and updated.version == 4, "an unchanged write is no new version"
        changed = type(old)(**{**old.__dict__, "labels": {"team": "pay"}})
        updated, _ = await store.put(changed, expected_version=4)
        assert updated.version == 5 and updated.creation_time == old.creation_time
    finally:
        await store.close()


async def test_a_new_database_records_every_migration_once(database: Database) -> None:
    for _ in range(2):
        store = database.open_store()
        await store.close()
    rows = database.query("SELECT version, description FROM schema_migrations ORDER BY 1")
    assert rows == [(m.version, m.description) for m in MIGRATIONS]


def test_migration_versions_are_consecutive() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


async def test_a_database_newer_than_the_code_is_refused_untouched(database: Database) -> None:
    store = database.open_store()
    await store.close()
    newer = LATEST_VERSION + 1
    mark = placeholder(database)
    database.execute(
        f"INSERT INTO schema_migrations VALUES ({mark}, {mark}, {mark})",
        (newer, "from the future", "2030-01-01T00:00:00Z"),
    )
    with pytest.raises(SchemaTooNew) as refused:
        database.open_store()
    assert f"schema is at version {newer}" in str(refused.value)
    assert f"up to {LATEST_VERSION}" in str(refused.value)
    assert database.versions() == [*range(1, LATEST_VERSION + 1), newer]


async def test_the_label_filter_is_served_by_the_label_index(database: Database) -> None:
    store = database.open_store()
    await store.close()
    condition, params = store._label_match("kuma.io/zone", "us-east-1")
    query = store._sql(f"SELECT name FROM resources WHERE type = ? AND {condition}")
    if database.backend == "sqlite":
        plan = database.query(f"EXPLAIN QUERY PLAN {query}", ("MeshService", *params))
        assert any("INDEX resources_by_zone" in str(step) for step in plan), plan
    else:
        with psycopg.connect(database.dsn) as conn:
            # The planner picks by statistics: 5,000 services spread over 100 zones.
            conn.execute(
                "INSERT INTO resources SELECT 'MeshService', 'default', 'svc-' || i, 1, '{}', "
                "json_build_object('kuma.io/zone', 'zone-' || i % 100)::text, NULL, '', '' "
                "FROM generate_series(1, 5000) AS i"
            )
            conn.execute("ANALYZE resources")
            plan = conn.execute(f"EXPLAIN {query}", ("MeshService", *params)).fetchall()
        assert any("resources_by_label" in row[0] for row in plan), plan


@pytest.mark.parametrize("backend", ["postgres"])
def test_replicas_starting_together_migrate_one_at_a_time(database: Database) -> None:
    """Without the advisory lock, a second replica would create the same index again and fail."""
    database.create_old()
    errors: list[BaseException] = []
    opened: list[SqlStore] = []
    start = threading.Barrier(4)

    def open_replica() -> None:
        start.wait()
        try:
            opened.append(database.open_store())
        except BaseException as error:  # reported below
            errors.append(error)

    replicas = [threading.Thread(target=open_replica) for _ in range(4)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join()
    for store in opened:
        store._executor.shutdown()
        store._pool.close()  # type: ignore[attr-defined]
    assert errors == []
    assert database.versions() == list(range(1, LATEST_VERSION + 1))
