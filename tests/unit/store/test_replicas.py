"""Leader election among replicas on a real PostgreSQL server: one leads, the lock moves
when the leader's session ends, and a leader that loses its session stops its work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from meshfabric.store.replicas import ELECTION_PREFIX, PostgresReplicas, Work
from tests.support.postgres import PostgresServer

# Generous: the machine is shared, and each wait ends as soon as its event comes.
TIMEOUT = 30


class Journal:
    """What each replica's work did, in order."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    def work(self, replica: str) -> Work:
        async def run() -> None:
            self.events.put_nowait((replica, "started"))
            try:
                await asyncio.Future()
            finally:
                self.events.put_nowait((replica, "stopped"))

        return {"work": run}

    async def next(self, count: int = 1) -> set[tuple[str, str]]:
        return {await asyncio.wait_for(self.events.get(), TIMEOUT) for _ in range(count)}


@pytest.fixture
async def running() -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks: list[asyncio.Task[None]] = []
    yield tasks
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def end_session(dsn: str, replica: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (ELECTION_PREFIX + replica,),
        )


async def test_one_replica_leads_and_the_lock_moves_when_its_session_ends(
    postgres: PostgresServer, running: list[asyncio.Task[None]]
) -> None:
    dsn = postgres.new_database()
    journal = Journal()
    running.append(asyncio.create_task(PostgresReplicas(dsn, "a", "test").lead(journal.work("a"))))
    assert await journal.next() == {("a", "started")}
    running.append(asyncio.create_task(PostgresReplicas(dsn, "b", "test").lead(journal.work("b"))))

    await asyncio.to_thread(end_session, dsn, "a")
    # The leader learns it lost the lock at its next check; the other is granted it at once.
    assert await journal.next(2) == {("a", "stopped"), ("b", "started")}
    running.pop(1).cancel()  # b stops: a, waiting again, leads again
    assert await journal.next(2) == {("b", "stopped"), ("a", "started")}


async def test_replicas_of_other_roles_lead_on_their_own(
    postgres: PostgresServer, running: list[asyncio.Task[None]]
) -> None:
    dsn = postgres.new_database()
    journal = Journal()
    for replica, role in (("global", "global"), ("zone", "zone us-east-1")):
        replicas = PostgresReplicas(dsn, replica, role)
        running.append(asyncio.create_task(replicas.lead(journal.work(replica))))
    assert await journal.next(2) == {("global", "started"), ("zone", "started")}


async def test_the_replicas_alive_are_those_with_a_store_session(
    postgres: PostgresServer,
) -> None:
    dsn = postgres.new_database()
    watcher = PostgresReplicas(dsn, "watcher", "test").live()
    assert await anext(watcher) == frozenset({"watcher"})
    store_session = await psycopg.AsyncConnection.connect(dsn, application_name="meshfabric-cp:a")
    await asyncio.wait_for(a_look_sees(watcher, {"watcher", "a"}), TIMEOUT)
    await store_session.close()
    await asyncio.wait_for(a_look_sees(watcher, {"watcher"}), TIMEOUT)
    await watcher.aclose()


async def a_look_sees(looks: AsyncIterator[frozenset[str]], alive: set[str]) -> None:
    async for seen in looks:
        if seen == alive:
            return
