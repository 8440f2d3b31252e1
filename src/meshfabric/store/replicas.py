"""Replicas of one control plane on one store: which of them are alive, and which one leads.

Every replica serves (the API, xDS, KDS streams); the work that must happen once (marking
zones offline, computing status, creating CAs, allocating VIPs, a zone's KDS connection to
global) runs on the leader alone. On SQLite there is one replica, which always leads. On
PostgreSQL the leader is the replica holding a session-level advisory lock; the others wait
for it in `pg_advisory_lock`, so when the leader's session ends (the process died, its
connection broke) the server hands the lock to one of them at once.

A replica is alive while it has a session named after it (`application_name`
`meshfabric-cp:<instance id>`): its store's. Not its election's: a server notices that the
client of a session waiting for a lock is gone only when it next checks (every second, with
`client_connection_check_interval`, on PostgreSQL 14 and later), or when it is granted the
lock and answers (then it ends the session and the lock goes to the next one waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any, Protocol

import psycopg

from meshfabric.metrics import LEADER

log = logging.getLogger(__name__)

Work = Mapping[str, Callable[[], Coroutine[Any, Any, None]]]
APPLICATION_PREFIX = "meshfabric-cp:"
ELECTION_PREFIX = "meshfabric-cp-election:"
# How often the leader checks that its session (and so its lock) is still there, and how
# often it looks at which replicas are alive: not on any data path.
_HEARTBEAT_S = 1.0
_RECONNECT_S = 1.0
_LIVE_REPLICAS = (
    "SELECT DISTINCT substr(application_name, %s) FROM pg_stat_activity "
    "WHERE datname = current_database() AND starts_with(application_name, %s)"
)


class Replicas(Protocol):
    instance_id: str

    async def lead(self, work: Work) -> None:
        """Until cancelled: whenever this replica leads, run every piece of `work`."""
        ...

    def live(self) -> AsyncIterator[frozenset[str]]:
        """The instance ids of the replicas alive, at each look (about every second); it
        ends when no other replica can ever come or go."""
        ...


class SoleReplica:
    """The one replica of a control plane on SQLite: it leads from the start."""

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id

    async def lead(self, work: Work) -> None:
        await _lead(work)

    async def live(self) -> AsyncIterator[frozenset[str]]:
        yield frozenset({self.instance_id})  # and no other replica ever comes or goes


class PostgresReplicas:
    """Parameters:
    dsn: the database the replicas share.
    instance_id: this replica.
    role: what the replicas are (`global`, `zone us-east-1`); one leader per role.
    """

    def __init__(self, dsn: str, instance_id: str, role: str) -> None:
        self.instance_id = instance_id
        self._dsn = dsn
        self._role = role
        self._lock_key = lock_key(f"meshfabric leader of {role}")

    async def lead(self, work: Work) -> None:
        said = ""  # the last failure logged: a database down for long is not logged each second
        while True:
            try:
                async with await self._connect(ELECTION_PREFIX) as conn:
                    await _check_client_while_waiting(conn)
                    # Blocks, with no polling, until the leader's session ends.
                    await conn.execute("SELECT pg_advisory_lock(%s)", (self._lock_key,))
                    said = ""
                    log.info("leading the %s replicas", self._role)
                    working = asyncio.create_task(_lead(work))
                    try:
                        await _while_connected(conn)
                    finally:
                        working.cancel()
                        await asyncio.gather(working, return_exceptions=True)
            except (psycopg.Error, OSError, TimeoutError) as lost:
                cause = str(lost) or f"no answer within {3 * _HEARTBEAT_S:.0f}s"
                reason = f"not leading the {self._role} replicas: lost the database ({cause})"
                if reason != said:
                    log.warning(reason)
                    said = reason
            await asyncio.sleep(_RECONNECT_S)

    async def live(self) -> AsyncIterator[frozenset[str]]:
        while True:
            try:
                async with await self._connect(APPLICATION_PREFIX) as conn:
                    while True:
                        cursor = await conn.execute(
                            _LIVE_REPLICAS, (len(APPLICATION_PREFIX) + 1, APPLICATION_PREFIX)
                        )
                        yield frozenset(row[0] for row in await cursor.fetchall())
                        await asyncio.sleep(_HEARTBEAT_S)
            except (psycopg.Error, OSError) as lost:
                log.warning("cannot tell which replicas are alive: %s", lost)
            await asyncio.sleep(_RECONNECT_S)

    async def _connect(self, prefix: str) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self._dsn, autocommit=True, application_name=prefix + self.instance_id
        )


def application_name(instance_id: str) -> str:
    return APPLICATION_PREFIX + instance_id


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a name."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), signed=True)


async def _check_client_while_waiting(conn: psycopg.AsyncConnection[Any]) -> None:
    # Before PostgreSQL 14 there is no such check: a dead waiter's session ends once it is
    # granted the lock.
    with contextlib.suppress(psycopg.errors.UndefinedObject):
        await conn.execute("SET client_connection_check_interval = 1000")


async def _while_connected(conn: psycopg.AsyncConnection[Any]) -> None:
    """Returns never; raises once the session holding the lock is gone or stops answering."""
    while True:
        await asyncio.sleep(_HEARTBEAT_S)
        await asyncio.wait_for(conn.execute("SELECT 1"), 3 * _HEARTBEAT_S)


async def _lead(work: Work) -> None:
    """Run every piece of work until cancelled; one failing is logged and leaves the others."""
    LEADER.set(1)
    tasks = [asyncio.create_task(start(), name=name) for name, start in work.items()]
    for task in tasks:
        task.add_done_callback(_log_failure)
    try:
        await asyncio.Future()
    finally:
        LEADER.set(0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped", task.get_name(), exc_info=task.exception())
