"""The database schema as an ordered list of migrations, applied when a store opens.

The schema version is the highest row in `schema_migrations`. A store opening a database
applies, in one transaction, every migration above that version; a database whose version
is above the newest migration here was written by a newer meshfabric and is refused, since
this code cannot know what the newer schema means. Migrations are only ever appended: a
released one never changes, or databases that already applied it would differ from new ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from meshfabric.store.errors import StoreError


class Dialect(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        return self.sqlite if dialect is Dialect.SQLITE else self.postgres


# The schema of every database created before migrations existed, unchanged: applying it to
# such a database is a no-op, so it simply records that the database is at version 1.
_RESOURCES_TABLE = """
CREATE TABLE IF NOT EXISTS resources (
    type TEXT NOT NULL,
    mesh TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    spec TEXT NOT NULL,
    labels TEXT NOT NULL,
    status TEXT,
    creation_time TEXT NOT NULL,
    modification_time TEXT NOT NULL,
    PRIMARY KEY (type, mesh, name)
)
"""

# The labels that multi-zone sync selects on: a KDS peer lists one type across every mesh by
# origin and zone (the initial sync, and deleting what a zone no longer has). The primary key
# only narrows such a list to the type. SQLite cannot index JSON in general, so it indexes
# these two labels; PostgreSQL indexes every label with a GIN index the label filter uses.
SYNC_LABELS = ("kuma.io/origin", "kuma.io/zone")


def sqlite_label_path(label: str) -> str:
    """The JSON path of a label as an SQL literal, written exactly as the label indexes are."""
    escaped = label.replace("'", "''")
    return f"'$.\"{escaped}\"'"


def _sqlite_sync_label_index(label: str) -> str:
    index = "resources_by_" + label.removeprefix("kuma.io/")
    label_value = f"json_extract(labels, {sqlite_label_path(label)})"
    return f"CREATE INDEX {index} ON resources (type, {label_value})"


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "the resources table",
        sqlite=(_RESOURCES_TABLE,),
        postgres=(_RESOURCES_TABLE,),
    ),
    Migration(
        2,
        "indexes for listing a type by label across meshes",
        sqlite=tuple(_sqlite_sync_label_index(label) for label in SYNC_LABELS),
        postgres=(
            "CREATE INDEX resources_by_label ON resources "
            "USING GIN ((labels::jsonb) jsonb_path_ops)",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


class SchemaTooNew(StoreError):
    def __init__(self, found: int) -> None:
        super().__init__(
            f"the database's schema is at version {found}, but this meshfabric knows versions "
            f"up to {LATEST_VERSION} only: a newer meshfabric wrote it; run that version "
            "(or newer) against this database"
        )
        self.found = found


class _Cursor(Protocol):
    def execute(self, sql: str, params: tuple[Any, ...] = ...) -> Any: ...
    def fetchone(self) -> Any: ...


def migrate(cursor: _Cursor, dialect: Dialect, adapt: Callable[[str], str]) -> list[int]:
    """Bring the schema to LATEST_VERSION inside the caller's transaction; the versions applied.

    The caller holds the database's write lock for the whole transaction, so concurrent
    openers migrate one after the other and the later ones find nothing left to do.
    """
    cursor.execute(_VERSION_TABLE)
    cursor.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    current = int(cursor.fetchone()[0])
    if current > LATEST_VERSION:
        raise SchemaTooNew(current)
    record = adapt(
        "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)"
    )
    pending = [migration for migration in MIGRATIONS if migration.version > current]
    for migration in pending:
        for statement in migration.statements(dialect):
            cursor.execute(statement)
        applied_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        cursor.execute(record, (migration.version, migration.description, applied_at))
    return [migration.version for migration in pending]
