"""The store contract, run against SQLite and against a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib

import psycopg
import pytest

from meshfabric.resources import Resource, ResourceKey
from meshfabric.store import ChangeEvent, ChangeKind, Conflict, NotFound
from meshfabric.store.postgres import CHANNEL, PostgresStore
from meshfabric.store.sql import SqlStore
from tests.support.postgres import PostgresServer


def mtp(name: str, action: str = "Allow", mesh: str = "default", **labels: str) -> Resource:
    spec = {
        "targetRef": {"kind": "Mesh"},
        "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": action}}],
    }
    return Resource("MeshTrafficPermission", mesh, name, spec, labels)


async def test_create_then_read_back(store: SqlStore) -> None:
    stored, created = await store.put(mtp("allow", team="core"))
    assert created and stored.version == 1
    read = await store.get(ResourceKey("MeshTrafficPermission", "default", "allow"))
    assert read is not None
    assert (read.spec, read.labels, read.version) == (stored.spec, {"team": "core"}, 1)
    assert read.creation_time == read.modification_time


async def test_every_change_increments_the_version(store: SqlStore) -> None:
    await store.put(mtp("allow"))
    updated, created = await store.put(mtp("allow", "Deny"))
    assert not created and updated.version == 2
    again, _ = await store.put(mtp("allow", "Deny"))
    assert again.version == 2, "writing what is stored is not a change"


async def test_stale_version_is_refused_and_changes_nothing(store: SqlStore) -> None:
    await store.put(mtp("allow"))
    await store.put(mtp("allow", "Deny"), expected_version=1)
    with pytest.raises(Conflict):
        await store.put(mtp("allow", "AllowWithShadowDeny"), expected_version=1)
    current = await store.get(ResourceKey("MeshTrafficPermission", "default", "allow"))
    assert current is not None and current.version == 2
    assert current.spec["from"][0]["default"]["action"] == "Deny"


async def test_create_only_refuses_an_existing_resource(store: SqlStore) -> None:
    await store.put(mtp("allow"), expected_version=0)
    with pytest.raises(Conflict):
        await store.put(mtp("allow", "Deny"), expected_version=0)


async def test_delete_with_version(store: SqlStore) -> None:
    await store.put(mtp("allow"))
    key = ResourceKey("MeshTrafficPermission", "default", "allow")
    with pytest.raises(Conflict):
        await store.delete(key, expected_version=5)
    await store.delete(key, expected_version=1)
    assert await store.get(key) is None
    with pytest.raises(NotFound):
        await store.delete(key)


async def test_list_pages_sorts_and_filters_by_label(store: SqlStore) -> None:
    for index in range(7):
        await store.put(mtp(f"p{index}", team="a" if index % 2 else "b"))
    await store.put(mtp("other-mesh", mesh="prod", team="a"))
    page = await store.list("MeshTrafficPermission", "default", offset=2, limit=3)
    assert page.total == 7
    assert [r.name for r in page.items] == ["p2", "p3", "p4"]
    team_a = await store.list("MeshTrafficPermission", "default", {"team": "a"})
    assert [r.name for r in team_a.items] == ["p1", "p3", "p5"]
    everywhere = await store.list("MeshTrafficPermission", None, {"team": "a"})
    assert everywhere.total == 4


async def test_label_filter_with_special_characters(store: SqlStore) -> None:
    await store.put(mtp("a", **{"kuma.io/origin": "zone"}))
    await store.put(mtp("b", **{"kuma.io/origin": "global"}))
    page = await store.list("MeshTrafficPermission", "default", {"kuma.io/origin": "zone"})
    assert [r.name for r in page.items] == ["a"]


async def test_writes_publish_change_events(store: SqlStore) -> None:
    async with store.events.subscribe() as events:
        await store.put(mtp("allow"))
        await store.put(mtp("allow", "Deny"))
        await store.put(mtp("allow", "Deny"))  # unchanged: no event
        await store.delete(ResourceKey("MeshTrafficPermission", "default", "allow"))
        seen = [events.get_nowait() for _ in range(events.qsize())]
    key = ResourceKey("MeshTrafficPermission", "default", "allow")
    assert seen == [
        ChangeEvent(ChangeKind.CREATED, key, 1),
        ChangeEvent(ChangeKind.UPDATED, key, 2),
        ChangeEvent(ChangeKind.DELETED, key, 2),
    ]


async def test_mesh_contents_are_removed_together(store: SqlStore) -> None:
    await store.put(mtp("a"))
    await store.put(mtp("b"))
    await store.put(mtp("c", mesh="prod"))
    assert await store.delete_mesh_contents("default") == 2
    assert (await store.list("MeshTrafficPermission", None)).total == 1


async def test_status_is_kept_apart_from_the_spec(store: SqlStore) -> None:
    stored, _ = await store.put(mtp("allow"))
    await store.set_status(stored.key, {"dataplaneProxies": {"connected": 1}})
    updated, _ = await store.put(mtp("allow", "Deny"))
    assert updated.status == {"dataplaneProxies": {"connected": 1}}
    assert updated.version == 2


async def test_concurrent_unconditional_writes_all_land(store: SqlStore) -> None:
    await asyncio.gather(*(store.put(mtp("allow", team=str(i))) for i in range(20)))
    final = await store.get(ResourceKey("MeshTrafficPermission", "default", "allow"))
    assert final is not None and final.version == 20


@pytest.mark.parametrize("backend", ["postgres"])
async def test_replicas_see_each_others_writes(store: SqlStore, postgres: PostgresServer) -> None:
    """Two control-plane replicas on one database: a write on one is an event on the other."""
    assert isinstance(store, PostgresStore)
    replica = PostgresStore(store._dsn)
    await replica.listen()
    try:
        async with replica.events.subscribe() as events:
            await store.put(mtp("allow"))
            event = await asyncio.wait_for(events.get(), timeout=5)
        assert event == ChangeEvent(
            ChangeKind.CREATED, ResourceKey("MeshTrafficPermission", "default", "allow"), 1
        )
    finally:
        await replica.close()


async def test_a_batch_writes_and_deletes_in_one_go(store: SqlStore) -> None:
    await store.put(mtp("old"))
    async with store.events.subscribe() as queue:
        events = await store.write_batch(
            [mtp("a"), mtp("b")], [ResourceKey("MeshTrafficPermission", "default", "old")]
        )
        kinds = sorted((e.kind, e.key.name) for e in events)
        assert kinds == [
            (ChangeKind.CREATED, "a"),
            (ChangeKind.CREATED, "b"),
            (ChangeKind.DELETED, "old"),
        ]
        assert queue.qsize() == 3, "subscribers hear of every change of the batch"
    names = [r.name for r in (await store.list("MeshTrafficPermission")).items]
    assert names == ["a", "b"]


async def test_a_batch_that_repeats_what_is_stored_changes_nothing(store: SqlStore) -> None:
    await store.put(mtp("a"))
    gone = ResourceKey("MeshTrafficPermission", "default", "never-existed")
    assert await store.write_batch([mtp("a")], [gone]) == []


async def test_a_refused_batch_leaves_nothing_behind(store: SqlStore) -> None:
    await store.put(mtp("kept", "Allow"))

    def refuse_kept(key: ResourceKey, stored: Resource | None) -> None:
        if stored is not None and stored.name == "kept":
            raise PermissionError(f"{key} belongs to someone else")

    with pytest.raises(PermissionError, match="kept belongs to someone else"):
        await store.write_batch([mtp("new"), mtp("kept", "Deny")], guard=refuse_kept)
    kept = await store.get(ResourceKey("MeshTrafficPermission", "default", "kept"))
    assert kept is not None and kept.spec["from"][0]["default"]["action"] == "Allow"
    assert await store.get(ResourceKey("MeshTrafficPermission", "default", "new")) is None


async def test_a_batch_keeps_the_status_computed_locally(store: SqlStore) -> None:
    key = ResourceKey("MeshTrafficPermission", "default", "a")
    await store.put(mtp("a"))
    await store.set_status(key, {"computed": "here"})
    await store.write_batch([mtp("a", "Deny")])
    stored = await store.get(key)
    assert stored is not None and stored.status == {"computed": "here"}
    assert stored.spec["from"][0]["default"]["action"] == "Deny"


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_replica_whose_listening_session_ends_hears_later_writes(
    store: SqlStore, postgres: PostgresServer
) -> None:
    """The server ending the session a replica hears others' writes on (a restart, a
    failover, an administrator) does not leave it deaf."""
    assert isinstance(store, PostgresStore)
    replica = PostgresStore(store._dsn)
    await replica.listen()
    try:
        with psycopg.connect(store._dsn, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query = %s",
                (f"LISTEN {CHANNEL}",),
            ).fetchall()
        assert len(ended) == 1  # the replica's only: the store under test never listened
        async with replica.events.subscribe() as events:
            for attempt in range(50):  # until the replica listens again
                await store.put(mtp("allow", team=str(attempt)))
                with contextlib.suppress(TimeoutError):
                    event = await asyncio.wait_for(events.get(), timeout=0.2)
                    break
            else:
                raise AssertionError("no write heard after the listening session ended")
        assert event.key == ResourceKey("MeshTrafficPermission", "default", "allow")
    finally:
        await replica.close()
