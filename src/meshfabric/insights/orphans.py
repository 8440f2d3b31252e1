"""Close the subscriptions that replicas which are gone left open.

An insight's subscription records the replica that holds the stream (a zone's at global, a
proxy's in its zone) and is closed by that replica when the stream ends. A replica that
crashes closes nothing: the leader closes them for it, so that the zone or proxy shows
offline until it connects again, here or at another replica. With one replica, that is
every subscription of an earlier run.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any

from meshfabric.resources import Parsed, Resource, ResourceKey
from meshfabric.resources.types.dataplaneinsight import InsightFields
from meshfabric.store.errors import Conflict
from meshfabric.store.events import ChangeEvent, ChangeKind
from meshfabric.store.protocol import Store
from meshfabric.store.replicas import Replicas

# Each insight type and the field of its subscriptions that names the replica.
ZONE_SUBSCRIPTIONS = ("ZoneInsight", "globalInstanceId")
PROXY_SUBSCRIPTIONS = ("DataplaneInsight", "controlPlaneInstanceId")


async def close_orphaned_subscriptions(
    store: Store, replicas: Replicas, kind: tuple[str, str]
) -> None:
    """Until cancelled (the leader's work): close the open subscriptions of `kind` whose
    replica is not alive.

    Each look at the replicas alive judges insights read before it, so that a replica newer
    than the look is never taken for gone: every insight once the replicas changed, else
    those written since the look before (a replica may come and go between two looks,
    leaving subscriptions that no change of the replicas alive would show).
    """
    type_name, replica_field = kind
    async with store.events.subscribe() as changes:
        read = (await store.list(type_name, None)).items
        known: frozenset[str] | None = None
        async for alive in replicas.live():
            for insight in read:
                await _close(store, insight, replica_field, alive)
            written = _written(changes, type_name)
            if alive != known:
                read = (await store.list(type_name, None)).items
            else:
                read = [found for key in written if (found := await store.get(key)) is not None]
            known = alive


def _written(changes: asyncio.Queue[ChangeEvent], type_name: str) -> set[ResourceKey]:
    """The insights of `type_name` written since the queue was last emptied."""
    keys: set[ResourceKey] = set()
    while not changes.empty():
        event = changes.get_nowait()
        if event.key.type == type_name and event.kind is not ChangeKind.DELETED:
            keys.add(event.key)
    return keys


async def _close(
    store: Store, insight: Resource, replica_field: str, alive: frozenset[str]
) -> None:
    current: Resource | None = insight
    while current is not None and _has_orphans(current, replica_field, alive):
        subscriptions = [
            {**sub, "disconnectTime": _now()} if _orphaned(sub, replica_field, alive) else sub
            for sub in _subscriptions(current)
        ]
        closed = dataclasses.replace(current, spec={**current.spec, "subscriptions": subscriptions})
        try:
            await store.put(closed, expected_version=current.version)
            return
        except Conflict:  # a live replica wrote it meanwhile: look again
            current = await store.get(current.key)


def _has_orphans(insight: Resource, replica_field: str, alive: frozenset[str]) -> bool:
    return any(_orphaned(sub, replica_field, alive) for sub in _subscriptions(insight))


def _subscriptions(insight: Resource) -> list[dict[str, Any]]:
    # A ZoneInsight holds its subscriptions as a DataplaneInsight does.
    return Parsed.of(insight, InsightFields).fields.subscriptions


def _orphaned(subscription: dict[str, Any], replica_field: str, alive: frozenset[str]) -> bool:
    return "disconnectTime" not in subscription and subscription.get(replica_field) not in alive


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
