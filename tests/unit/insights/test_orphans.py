"""The leader closing the subscriptions of replicas that are gone, look by look."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from meshfabric.insights.orphans import PROXY_SUBSCRIPTIONS, close_orphaned_subscriptions
from meshfabric.resources import Resource, ResourceKey
from meshfabric.store.replicas import Work
from meshfabric.store.sqlite import SqliteStore

TIMEOUT = 10


Meanwhile = Callable[[], Awaitable[None]] | None


class ScriptedReplicas:
    """Replicas whose looks the test makes, one at a time: `look` returns once the marker
    has judged that look and asks for the next; `meanwhile` happens after the look was
    taken and before the marker hears of it."""

    instance_id = "leader"

    def __init__(self) -> None:
        self._looks: asyncio.Queue[tuple[frozenset[str], Meanwhile]] = asyncio.Queue()
        self._judged: asyncio.Queue[None] = asyncio.Queue()

    async def lead(self, work: Work) -> None:
        raise NotImplementedError

    async def live(self) -> AsyncIterator[frozenset[str]]:
        while True:
            alive, meanwhile = await self._looks.get()
            if meanwhile is not None:
                await meanwhile()
            yield alive
            self._judged.put_nowait(None)

    async def look(self, *alive: str, meanwhile: Meanwhile = None) -> None:
        self._looks.put_nowait((frozenset({"leader", *alive}), meanwhile))
        await asyncio.wait_for(self._judged.get(), TIMEOUT)


def insight(name: str, replica: str) -> Resource:
    subscription: dict[str, Any] = {
        "id": f"{name}-1",
        "controlPlaneInstanceId": replica,
        "connectTime": "2026-01-01T00:00:00Z",
    }
    return Resource("DataplaneInsight", "default", name, {"subscriptions": [subscription]})


async def closed(store: SqliteStore, name: str) -> bool:
    found = await store.get(ResourceKey("DataplaneInsight", "default", name))
    assert found is not None
    return "disconnectTime" in found.spec["subscriptions"][-1]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "store.db")
    await opened.put(Resource("Mesh", "", "default", {}))
    yield opened
    await opened.close()


@pytest.fixture
async def replicas(store: SqliteStore) -> AsyncIterator[ScriptedReplicas]:
    """The leader's offline marker running on `store`, told of the looks these replicas make."""
    scripted = ScriptedReplicas()
    marker = asyncio.create_task(close_orphaned_subscriptions(store, scripted, PROXY_SUBSCRIPTIONS))
    yield scripted
    marker.cancel()
    await asyncio.gather(marker, return_exceptions=True)


async def test_a_replica_seen_by_no_look_leaves_no_subscription_open(
    store: SqliteStore, replicas: ScriptedReplicas
) -> None:
    await replicas.look()
    await replicas.look()
    # A replica that started after that look and died before the next wrote this.
    await store.put(insight("web-1", "short-lived"))
    await replicas.look()
    await replicas.look()
    assert await closed(store, "web-1")


async def test_a_replica_newer_than_a_look_is_not_taken_for_gone(
    store: SqliteStore, replicas: ScriptedReplicas
) -> None:
    async def newcomer_connects_a_proxy() -> None:
        await store.put(insight("web-1", "newcomer"))

    await replicas.look()
    await replicas.look(meanwhile=newcomer_connects_a_proxy)
    await replicas.look("newcomer")
    await replicas.look("newcomer")
    assert not await closed(store, "web-1")


async def test_a_replica_that_dies_has_its_subscriptions_closed(
    store: SqliteStore, replicas: ScriptedReplicas
) -> None:
    await store.put(insight("web-1", "other"))
    await replicas.look("other")
    await replicas.look("other")
    assert not await closed(store, "web-1")
    await replicas.look()  # "other" is gone
    await replicas.look()
    assert await closed(store, "web-1")
