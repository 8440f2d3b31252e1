"""SQLite backend: one file in WAL mode, every acknowledged write synced to disk."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from meshfabric.files import private_file
from meshfabric.store.migrations import sqlite_label_path
from meshfabric.store.sql import Cursor, SqlStore

# SQLite gives the -wal and -shm files the database file's mode, so these follow it.
_COMPANIONS = ("-wal", "-shm")


class SqliteStore(SqlStore):
    backend = "sqlite"
    driver_errors = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        # One connection on one worker thread: SQLite serialises writers anyway, and a single
        # thread keeps the connection's use race-free.
        super().__init__(workers=1)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # The database holds private keys and signing keys: readable by its owner only.
        for file in (path, *(path.with_name(path.name + suffix) for suffix in _COMPANIONS)):
            if file == path or file.exists():
                private_file(file)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit returns only once the WAL is on disk, so an answered write survives
        # a crash of the process or of the machine.
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        cursor = self._conn.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
            cursor.execute("COMMIT")  # may fail too (a full disk): then roll back as well
        except BaseException:
            # SQLite ends the transaction itself on some errors (a full disk): rolling back
            # again would fail and hide the error that says what happened.
            if self._conn.in_transaction:
                cursor.execute("ROLLBACK")
            raise

    def _sql(self, sql: str) -> str:
        return sql

    def _label_match(self, label: str, value: str) -> tuple[str, tuple[str, ...]]:
        # The path is a literal, not a parameter, so that the label indexes match the query.
        return f"json_extract(labels, {sqlite_label_path(label)}) = ?", (value,)

    async def close(self) -> None:
        await super().close()
        self._conn.close()
