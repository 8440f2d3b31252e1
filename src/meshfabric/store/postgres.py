"""PostgreSQL backend for highly available control planes.

Replicas share one database; each write sends a NOTIFY inside its transaction, so every
replica learns of it on commit and feeds it to its own subscribers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from meshfabric.resources.model import ResourceKey
from meshfabric.store.events import ChangeEvent, ChangeKind
from meshfabric.store.sql import Cursor, SqlStore

CHANNEL = "meshfabric_changes"
# The advisory lock held while migrating, so replicas starting together migrate one at a time.
SCHEMA_LOCK = 0x6D657368_66616272  # "meshfabr"
_RELISTEN_S = 1.0
log = logging.getLogger(__name__)


class PostgresStore(SqlStore):
    backend = "postgres"
    driver_errors = (psycopg.Error,)

    def __init__(self, dsn: str, pool_size: int = 4, application_name: str = "") -> None:
        """`application_name` names this replica's sessions (`meshfabric.store.replicas`)."""
        super().__init__(workers=pool_size)
        self._dsn = dsn
        self._instance = uuid.uuid4().hex
        self._session: dict[str, Any] = (
            {"application_name": application_name} if application_name else {}
        )
        self._pool = ConnectionPool(
            dsn, min_size=1, max_size=pool_size, open=True, kwargs=self._session
        )
        self._migrate()
        self._listener: threading.Thread | None = None
        self._stopping = threading.Event()

    async def listen(self) -> None:
        """Relay other replicas' writes into this replica's event bus, from now on."""
        listening = threading.Event()
        self._listener = threading.Thread(
            target=self._relay_notifications,
            args=(asyncio.get_running_loop(), listening),
            name="store-listen",
            daemon=True,
        )
        self._listener.start()
        if not await asyncio.to_thread(listening.wait, 10):
            raise RuntimeError("could not LISTEN for other replicas' changes within 10s")

    def _relay_notifications(
        self, loop: asyncio.AbstractEventLoop, listening: threading.Event
    ) -> None:
        """Until the store closes; a session that ends (the server restarted, failed over,
        or terminated it) is opened again, once a second until that works."""
        lost = ""
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, **self._session) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    if lost:
                        log.warning(
                            "listening to other replicas' writes again; those made since the "
                            "session was lost (%s) reach this replica with their next change",
                            lost,
                        )
                        lost = ""
                    listening.set()
                    self._relay(conn, loop)
                    return
            except psycopg.Error as error:
                if not lost:
                    log.error("lost the session hearing other replicas' writes: %s", error)
                lost = str(error).strip() or type(error).__name__
                self._stopping.wait(_RELISTEN_S)

    def _relay(self, conn: psycopg.Connection[Any], loop: asyncio.AbstractEventLoop) -> None:
        while not self._stopping.is_set():
            for notify in conn.notifies(timeout=0.5):
                event = self._decode(notify.payload)
                if event is not None:
                    loop.call_soon_threadsafe(self.events.publish, event)

    def _decode(self, payload: str) -> ChangeEvent | None:
        message = json.loads(payload)
        if message["instance"] == self._instance:
            return None  # our own write, already published when it committed
        return ChangeEvent(
            ChangeKind(message["kind"]),
            ResourceKey(message["type"], message["mesh"], message["name"]),
            int(message["version"]),
        )

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield cursor

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _label_match(self, label: str, value: str) -> tuple[str, tuple[str, ...]]:
        # Containment, written on the indexed expression, so the GIN label index serves it.
        return "labels::jsonb @> jsonb_build_object(%s::text, %s::text)", (label, value)

    def _lock_schema(self, cursor: Cursor) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))

    def _announce(self, cursor: Cursor, event: ChangeEvent) -> None:
        payload = {
            "instance": self._instance,
            "kind": event.kind.value,
            "type": event.key.type,
            "mesh": event.key.mesh,
            "name": event.key.name,
            "version": event.version,
        }
        cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, json.dumps(payload)))

    async def close(self) -> None:
        self._stopping.set()
        await super().close()
        if self._listener is not None:
            await asyncio.to_thread(self._listener.join, 2)
        self._pool.close()
