"""Close the subscriptions that replicas which are gone left open.

An insight's subscription records the replica that holds the stream (a zone's at global, a
proxy's in its zone) and is closed by that replica when the stream ends. A replica that
crashes closes nothing: the leader closes them for it, so that the zone or proxy shows
offline until it connects again, here or at another replica. With one replica, that is
every subscription of an earlier run.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from meshfabric.resources import Parsed, Resource
from meshfabric.resources.types.dataplaneinsight import InsightFields
from meshfabric.store.errors import Conflict
from meshfabric.store.protocol import Store
from meshfabric.store.replicas import Replicas

# Each insight type and the field of its subscriptions that names the replica.
ZONE_SUBSCRIPTIONS = ("ZoneInsight", "globalInstanceId")
PROXY_SUBSCRIPTIONS = ("DataplaneInsight", "controlPlaneInstanceId")


async def close_orphaned_subscriptions(
    store: Store, replicas: Replicas, kind: tuple[str, str]
) -> None:
    """Until cancelled (the leader's work): whenever the replicas alive change, close the
    open subscriptions of `kind` whose replica is not among them."""
    type_name, replica_field = kind
    async for alive in replicas.live():
        for insight in (await store.list(type_name, None)).items:
            await _close(store, insight, replica_field, alive)


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
