"""Which proxies a change regenerates, and how much of their config it touches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from envoy.config.endpoint.v3.endpoint_pb2 import ClusterLoadAssignment

from meshfabric.ca.identities import IdentityProvider
from meshfabric.resources import Resource
from meshfabric.store.sqlite import SqliteStore
from meshfabric.xds.cache.snapshot import Snapshot, SnapshotCache
from meshfabric.xds.envoy.types import CLUSTER, ENDPOINT, LISTENER
from meshfabric.xds.model.proxy import ProxyId
from tests.support.reconciler import ObservedReconciler
from tests.unit.policies.generation import dataplane


class Zone:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.cache = SnapshotCache()
        self.reconciler = ObservedReconciler(store, self.cache, IdentityProvider(store))

    def snapshot(self, name: str) -> Snapshot | None:
        return self.cache.get(ProxyId("default", name))

    async def settled(self) -> None:
        """Wait until the reconciler has applied everything written so far."""
        await self.reconciler.settled()


@pytest.fixture
async def zone(tmp_path: Path) -> AsyncIterator[Zone]:
    store = SqliteStore(tmp_path / "store.db")
    await store.put(Resource("Mesh", "", "default", {}))
    for resource in (
        dataplane("web-1", "web", "http", 8080, "backend"),
        dataplane("billing-1", "billing", "http", 8082),
        dataplane("backend-1", "backend", "http", 8081),
    ):
        await store.put(resource)
    zone = Zone(store)
    running = asyncio.create_task(zone.reconciler.run())
    for name in ("web-1", "billing-1"):
        zone.reconciler.connect(ProxyId("default", name))
    await zone.settled()
    yield zone
    running.cancel()
    await store.close()


async def test_a_moved_endpoint_changes_only_its_callers_endpoints(zone: Zone) -> None:
    web, billing = zone.snapshot("web-1"), zone.snapshot("billing-1")
    assert web is not None and billing is not None
    await zone.store.put(dataplane("backend-1", "backend", "http", 9081))
    await zone.settled()
    moved = zone.snapshot("web-1")
    assert moved is not None
    assert moved.version(ENDPOINT) != web.version(ENDPOINT)
    assert (moved.version(CLUSTER), moved.version(LISTENER)) == (
        web.version(CLUSTER),
        web.version(LISTENER),
    )
    assert zone.snapshot("billing-1") is billing  # not a caller: untouched


async def test_a_policy_regenerates_only_the_proxies_it_selects(zone: Zone) -> None:
    billing = zone.snapshot("billing-1")
    timeout = {
        "targetRef": {"kind": "MeshService", "name": "web"},
        "to": [{"targetRef": {"kind": "Mesh"}, "default": {"connectionTimeout": "2s"}}],
    }
    before = zone.snapshot("web-1")
    await zone.store.put(Resource("MeshTimeout", "default", "web-timeout", timeout))
    await zone.settled()
    after = zone.snapshot("web-1")
    assert before is not None and after is not None
    assert after.version(CLUSTER) != before.version(CLUSTER)
    assert zone.snapshot("billing-1") is billing


async def test_a_moved_endpoint_keeps_the_endpoints_a_load_balancing_strategy_shapes(
    zone: Zone,
) -> None:
    spread = {
        "targetRef": {"kind": "MeshService", "name": "web"},
        "to": [
            {
                "targetRef": {"kind": "Mesh"},
                "default": {"localityAwareness": {"disabled": True}},
            }
        ],
    }
    await zone.store.put(Resource("MeshLoadBalancingStrategy", "default", "spread", spread))
    await zone.settled()
    await zone.store.put(dataplane("backend-1", "backend", "http", 9081))
    await zone.settled()
    moved = zone.snapshot("web-1")
    assert moved is not None
    assignment = ClusterLoadAssignment()
    moved.of_type(ENDPOINT)["backend"].body.Unpack(assignment)
    (locality,) = assignment.endpoints
    assert locality.locality.zone == "default"  # this zone's locality: the strategy's shape
    assert locality.lb_endpoints[0].endpoint.address.socket_address.port_value == 9081
