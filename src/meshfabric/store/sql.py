"""Store logic shared by SQLite and PostgreSQL: both are DB-API drivers run in worker threads.

The drivers are synchronous; each operation runs as one transaction on a worker thread,
so the event loop never waits on disk or network I/O.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from meshfabric.metrics import STORE_OPERATION_SECONDS
from meshfabric.resources.model import Resource, ResourceKey
from meshfabric.store.errors import Conflict, NotFound, StoreError, StoreHealth, StoreUnavailable
from meshfabric.store.events import ChangeEvent, ChangeKind, EventBus
from meshfabric.store.migrations import MIGRATIONS, Dialect, migrate
from meshfabric.store.protocol import Page

T = TypeVar("T")
log = logging.getLogger(__name__)

# Sees each key of a batch with what is stored under it, before the write; raises to refuse.
BatchGuard = Callable[[ResourceKey, Resource | None], None]

# Unconditional writes that keep losing races to other writers give up after this many tries.
_UPSERT_ATTEMPTS = 20

COLUMNS = "type, mesh, name, version, spec, labels, status, creation_time, modification_time"


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: tuple[Any, ...] = ...) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class _Raced(Exception):
    def __init__(self, actual: int | None) -> None:
        self.actual = actual


_READS = frozenset({"get", "list"})


class SqlStore(ABC):
    """The Store protocol over any DB-API connection; subclasses supply the dialect."""

    backend = "sql"
    # The driver's errors: the database failed an operation (read-only, full, unreachable).
    driver_errors: tuple[type[Exception], ...] = ()

    def __init__(self, workers: int) -> None:
        self.events = EventBus()
        # Set by _migrate: this open made the schema (a new database, or one from before
        # schema versions); with no resources in it, the database was new.
        self.schema_created = False
        self.health = StoreHealth()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="store")

    # -- dialect ---------------------------------------------------------------

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Cursor]:
        """A cursor inside one transaction, committed when the block ends without error."""

    @abstractmethod
    def _sql(self, sql: str) -> str:
        """Adapt the `?` placeholders used below to the driver's style."""

    @abstractmethod
    def _label_match(self, label: str, value: str) -> tuple[str, tuple[str, ...]]:
        """A condition true when labels[label] == value, and its parameters."""

    def _lock_schema(self, cursor: Cursor) -> None:  # noqa: B027 (optional hook)
        """Keep other openers of the database from migrating until this transaction ends."""

    def _announce(self, cursor: Cursor, event: ChangeEvent) -> None:  # noqa: B027 (optional hook)
        """Tell other control-plane replicas about a write, inside its transaction."""

    def _migrate(self) -> None:
        """Bring the database's schema up to this code's; subclasses call it once connected."""
        with self._transaction() as cursor:
            self._lock_schema(cursor)
            applied = migrate(cursor, Dialect(self.backend), self._sql)
        self.schema_created = applied[:1] == [MIGRATIONS[0].version]
        if applied:
            log.info("migrated the %s schema to version %d", self.backend, applied[-1])

    # -- operations --------------------------------------------------------------

    async def _run(self, name: str, operation: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._executor, operation)
        except self.driver_errors as failed:
            unavailable = StoreUnavailable(self.backend, failed)
            self.health.failure = str(unavailable)
            log.error("%s (during %s)", unavailable, name)
            raise unavailable from failed
        else:
            if name not in _READS:
                self.health.failure = None
            return result
        finally:
            STORE_OPERATION_SECONDS.labels(name, self.backend).observe(
                time.perf_counter() - started
            )

    async def get(self, key: ResourceKey) -> Resource | None:
        return await self._run("get", lambda: self._get(key))

    async def list(
        self,
        type_name: str,
        mesh: str | None = None,
        labels: Mapping[str, str] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Page:
        return await self._run(
            "list", lambda: self._list(type_name, mesh, labels or {}, offset, limit)
        )

    async def put(
        self, resource: Resource, expected_version: int | None = None
    ) -> tuple[Resource, bool]:
        for _ in range(_UPSERT_ATTEMPTS):
            try:
                stored, created, event = await self._run(
                    "put", lambda: self._put(resource, expected_version)
                )
            except _Raced as raced:
                if expected_version is not None:
                    raise Conflict(resource.key, expected_version, raced.actual) from None
                continue  # an unconditional write simply tries again on the newer version
            if event:
                self.events.publish(event)
            return stored, created
        raise Conflict(resource.key, 0, None)

    async def write_batch(
        self,
        puts: Sequence[Resource],
        deletes: Sequence[ResourceKey] = (),
        guard: BatchGuard | None = None,
    ) -> builtins.list[ChangeEvent]:
        """Write and delete in one transaction: all of it, or nothing if anything fails.

        Each put is an unconditional write (status kept, unchanged content no change);
        deleting what does not exist is no change. Returns the changes made.
        """
        for _ in range(_UPSERT_ATTEMPTS):
            try:
                events = await self._run(
                    "write_batch", lambda: self._write_batch(puts, deletes, guard)
                )
            except _Raced:
                continue  # another writer got in between: the whole batch tries again
            for event in events:
                self.events.publish(event)
            return events
        raise StoreError(f"a batch of {len(puts) + len(deletes)} writes kept losing races")

    async def set_status(self, key: ResourceKey, status: dict[str, Any] | None) -> None:
        event = await self._run("set_status", lambda: self._set_status(key, status))
        if event:
            self.events.publish(event)

    async def delete(self, key: ResourceKey, expected_version: int | None = None) -> Resource:
        deleted = await self._run("delete", lambda: self._delete(key, expected_version))
        self.events.publish(ChangeEvent(ChangeKind.DELETED, key, deleted.version))
        return deleted

    async def delete_mesh_contents(self, mesh: str) -> int:
        deleted = await self._run("delete_mesh_contents", lambda: self._delete_mesh_contents(mesh))
        for resource in deleted:
            self.events.publish(ChangeEvent(ChangeKind.DELETED, resource.key, resource.version))
        return len(deleted)

    async def close(self) -> None:
        self._executor.shutdown(wait=True)

    # -- synchronous bodies, run on the worker threads ------------------------------

    def _get(self, key: ResourceKey) -> Resource | None:
        with self._transaction() as cursor:
            return self._select_one(cursor, key)

    def _select_one(self, cursor: Cursor, key: ResourceKey) -> Resource | None:
        cursor.execute(
            self._sql(f"SELECT {COLUMNS} FROM resources WHERE type = ? AND mesh = ? AND name = ?"),
            (key.type, key.mesh, key.name),
        )
        row = cursor.fetchone()
        return _to_resource(row) if row else None

    def _list(
        self,
        type_name: str,
        mesh: str | None,
        labels: Mapping[str, str],
        offset: int,
        limit: int | None,
    ) -> Page:
        conditions, params = ["type = ?"], [type_name]
        if mesh is not None:
            conditions.append("mesh = ?")
            params.append(mesh)
        for label, value in labels.items():
            condition, condition_params = self._label_match(label, value)
            conditions.append(condition)
            params += condition_params
        where = " AND ".join(conditions)
        with self._transaction() as cursor:
            cursor.execute(
                self._sql(f"SELECT COUNT(*) FROM resources WHERE {where}"), tuple(params)
            )
            total = int(cursor.fetchone()[0])
            page_sql = f"SELECT {COLUMNS} FROM resources WHERE {where} ORDER BY mesh, name"
            page_params: list[Any] = list(params)
            if limit is not None:
                page_sql += " LIMIT ? OFFSET ?"
                page_params += [limit, offset]
            elif offset:
                page_sql += " OFFSET ?"
                page_params.append(offset)
            cursor.execute(self._sql(page_sql), tuple(page_params))
            items = [_to_resource(row) for row in cursor.fetchall()]
        return Page(items=items, total=total)

    def _put(
        self, resource: Resource, expected_version: int | None
    ) -> tuple[Resource, bool, ChangeEvent | None]:
        with self._transaction() as cursor:
            return self._write(cursor, resource, expected_version)

    def _write(
        self, cursor: Cursor, resource: Resource, expected_version: int | None
    ) -> tuple[Resource, bool, ChangeEvent | None]:
        current = self._select_one(cursor, resource.key)
        actual = current.version if current else None
        if expected_version is not None and expected_version != (actual or 0):
            raise Conflict(resource.key, expected_version, actual)
        if current and current.spec == resource.spec and current.labels == resource.labels:
            return current, False, None
        now = _now()
        if current is None:
            stored = _with(resource, version=1, creation_time=now, modification_time=now)
            cursor.execute(
                self._sql(
                    f"INSERT INTO resources ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING"
                ),
                _to_row(stored),
            )
            kind = ChangeKind.CREATED
        else:
            stored = _with(
                resource,
                version=current.version + 1,
                creation_time=current.creation_time,
                modification_time=now,
                status=current.status,
            )
            cursor.execute(
                self._sql(
                    "UPDATE resources SET version = ?, spec = ?, labels = ?, "
                    "modification_time = ? WHERE type = ? AND mesh = ? AND name = ? "
                    "AND version = ?"
                ),
                (
                    stored.version,
                    json.dumps(stored.spec),
                    json.dumps(stored.labels),
                    _timestamp(now),
                    *_key_params(stored.key),
                    current.version,
                ),
            )
            kind = ChangeKind.UPDATED
        if cursor.rowcount != 1:
            # Another writer committed between our read and our write.
            raced = self._select_one(cursor, resource.key)
            raise _Raced(raced.version if raced else None)
        event = ChangeEvent(kind, stored.key, stored.version)
        self._announce(cursor, event)
        return stored, current is None, event

    def _write_batch(
        self,
        puts: Sequence[Resource],
        deletes: Sequence[ResourceKey],
        guard: BatchGuard | None,
    ) -> builtins.list[ChangeEvent]:
        events = []
        with self._transaction() as cursor:
            for resource in puts:
                if guard is not None:
                    guard(resource.key, self._select_one(cursor, resource.key))
                _, _, event = self._write(cursor, resource, None)
                if event is not None:
                    events.append(event)
            for key in deletes:
                current = self._select_one(cursor, key)
                if guard is not None:
                    guard(key, current)
                if current is not None:
                    events.append(self._remove(cursor, current))
        return events

    def _remove(self, cursor: Cursor, current: Resource) -> ChangeEvent:
        cursor.execute(
            self._sql("DELETE FROM resources WHERE type = ? AND mesh = ? AND name = ?"),
            _key_params(current.key),
        )
        event = ChangeEvent(ChangeKind.DELETED, current.key, current.version)
        self._announce(cursor, event)
        return event

    def _set_status(self, key: ResourceKey, status: dict[str, Any] | None) -> ChangeEvent | None:
        with self._transaction() as cursor:
            current = self._select_one(cursor, key)
            if current is None or current.status == status:
                return None
            cursor.execute(
                self._sql(
                    "UPDATE resources SET status = ? WHERE type = ? AND mesh = ? AND name = ?"
                ),
                (_json_or_none(status), *_key_params(key)),
            )
            event = ChangeEvent(ChangeKind.UPDATED, key, current.version)
            self._announce(cursor, event)
            return event

    def _delete(self, key: ResourceKey, expected_version: int | None) -> Resource:
        with self._transaction() as cursor:
            current = self._select_one(cursor, key)
            if current is None:
                if expected_version:
                    raise Conflict(key, expected_version, None)
                raise NotFound(key)
            if expected_version is not None and expected_version != current.version:
                raise Conflict(key, expected_version, current.version)
            self._remove(cursor, current)
            return current

    def _delete_mesh_contents(self, mesh: str) -> builtins.list[Resource]:
        with self._transaction() as cursor:
            cursor.execute(self._sql(f"SELECT {COLUMNS} FROM resources WHERE mesh = ?"), (mesh,))
            doomed = [_to_resource(row) for row in cursor.fetchall()]
            cursor.execute(self._sql("DELETE FROM resources WHERE mesh = ?"), (mesh,))
            for resource in doomed:
                self._announce(
                    cursor, ChangeEvent(ChangeKind.DELETED, resource.key, resource.version)
                )
            return doomed


def _with(resource: Resource, **changes: Any) -> Resource:
    fields = {**resource.__dict__, **changes}
    return Resource(**fields)


def _now() -> datetime:
    return datetime.now(UTC)


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _json_or_none(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value)


def _key_params(key: ResourceKey) -> tuple[str, str, str]:
    return (key.type, key.mesh, key.name)


def _to_row(resource: Resource) -> tuple[Any, ...]:
    assert resource.creation_time and resource.modification_time
    return (
        *_key_params(resource.key),
        resource.version,
        json.dumps(resource.spec),
        json.dumps(resource.labels),
        _json_or_none(resource.status),
        _timestamp(resource.creation_time),
        _timestamp(resource.modification_time),
    )


def _to_resource(row: Any) -> Resource:
    type_, mesh, name, version, spec, labels, status, created, modified = row
    return Resource(
        type=type_,
        mesh=mesh,
        name=name,
        version=int(version),
        spec=json.loads(spec),
        labels=json.loads(labels),
        status=json.loads(status) if status else None,
        creation_time=datetime.fromisoformat(created),
        modification_time=datetime.fromisoformat(modified),
    )
