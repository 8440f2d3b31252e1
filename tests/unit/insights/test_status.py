"""MeshService and MeshMultiZoneService status, computed from a mesh's resources and kept
current by store change events, alongside the VIPs the allocator writes."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from meshfabric.dns import default_generators
from meshfabric.insights import (
    StatusUpdater,
    dataplane_online,
    mesh_service_status,
    multizone_service_status,
)
from meshfabric.ipam import VipProvisioner
from meshfabric.resources import Parsed, Resource, ResourceKey
from meshfabric.resources.types import hostnamegenerator, meshmultizoneservice, meshservice
from meshfabric.store.sqlite import SqliteStore
from meshfabric.xds.model.proxy import Proxy


def mesh_service(name: str, service: str, labels: dict[str, str] | None = None) -> Resource:
    spec = {"selector": {"dataplaneTags": {"kuma.io/service": service}}, "ports": [{"port": 80}]}
    return Resource("MeshService", "default", name, spec, labels=labels or {})


def dataplane(name: str, service: str, ready: bool = True) -> Resource:
    inbound: dict[str, Any] = {"port": 80, "tags": {"kuma.io/service": service}}
    if not ready:
        inbound["health"] = {"ready": False}
    spec = {"networking": {"address": "10.0.0.1", "inbound": [inbound]}}
    return Resource("Dataplane", "default", name, spec)


def insight(name: str, connected: bool = True) -> Resource:
    subscription: dict[str, Any] = {"id": "1", "connectTime": "2026-01-01T00:00:00Z"}
    if not connected:
        subscription["disconnectTime"] = "2026-01-01T00:01:00Z"
    return Resource("DataplaneInsight", "default", name, {"subscriptions": [subscription]})


def test_proxies_are_counted_as_selected_connected_and_healthy() -> None:
    proxies = [
        Proxy.from_resource(dataplane("backend-1", "backend")),
        Proxy.from_resource(dataplane("backend-2", "backend", ready=False)),
        Proxy.from_resource(dataplane("backend-3", "backend")),
        Proxy.from_resource(dataplane("web-1", "web")),
    ]
    insights = [insight("backend-1"), insight("backend-2"), insight("backend-3", connected=False)]
    online = {item.name: dataplane_online(item) for item in insights}
    service = Parsed.of(mesh_service("backend", "backend"), meshservice.Spec)
    generators = [Parsed.of(g, hostnamegenerator.Spec) for g in default_generators(False, None)]
    status = mesh_service_status(service, generators, proxies, online)
    assert status["dataplaneProxies"] == {"connected": 2, "healthy": 1, "total": 3}
    assert status["addresses"] == [
        {
            "hostname": "backend.svc.mesh.local",
            "origin": "HostnameGenerator",
            "hostnameGeneratorRef": {"coreName": "local-universal-mesh-service"},
        }
    ]


def test_a_synced_service_keeps_its_zone_counts_and_gets_the_generators_hostnames() -> None:
    counted = {"connected": 2, "healthy": 2, "total": 2}
    synced = mesh_service(
        "backend-x2", "backend", {"kuma.io/origin": "global", "kuma.io/zone": "eu-west-1"}
    )
    synced = dataclasses.replace(
        synced, status={"dataplaneProxies": counted, "vips": [{"ip": "241.0.0.9"}]}
    )
    generator = Resource(
        "HostnameGenerator",
        "",
        "short",
        {"selector": {"meshService": {"matchLabels": {}}}, "template": "{{ .Name }}.internal"},
    )
    status = mesh_service_status(
        Parsed.of(synced, meshservice.Spec),
        [Parsed.of(generator, hostnamegenerator.Spec)],
        None,
        {},
    )
    assert status["dataplaneProxies"] == counted
    assert status["vips"] == [{"ip": "241.0.0.9"}]
    assert status["addresses"] == [
        {
            "hostname": "backend-x2.internal",
            "origin": "HostnameGenerator",
            "hostnameGeneratorRef": {"coreName": "short"},
        },
    ]


def test_a_multizone_service_lists_the_local_and_synced_mesh_services_it_matches() -> None:
    local = mesh_service("flight-control", "flight-control")
    synced = mesh_service(
        "flight-control-zxw6c95d42zfz9cc",
        "flight-control",
        {"kuma.io/display-name": "flight-control", "kuma.io/zone": "eu-west-1"},
    )
    other = mesh_service("booking", "booking")
    wanted = {"kuma.io/display-name": "flight-control"}
    multizone = Resource(
        "MeshMultiZoneService",
        "default",
        "flight-control",
        {"selector": {"meshService": {"matchLabels": wanted}}, "ports": [{"port": 80}]},
        labels={"kuma.io/origin": "global"},
    )
    generators = [Parsed.of(g, hostnamegenerator.Spec) for g in default_generators(True, None)]
    status = multizone_service_status(
        Parsed.of(multizone, meshmultizoneservice.Spec),
        [local, synced, other],
        generators,
        "us-east-1",
    )
    assert status["meshServices"] == [
        {"mesh": "default", "name": "flight-control", "namespace": "", "zone": "us-east-1"},
        {
            "mesh": "default",
            "name": "flight-control-zxw6c95d42zfz9cc",
            "namespace": "",
            "zone": "eu-west-1",
        },
    ]
    assert status["addresses"][0]["hostname"] == "flight-control.mzsvc.mesh.local"


async def eventually(check: Callable[[], Any], what: str) -> Any:
    for _ in range(300):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def test_status_follows_proxies_connecting_and_disconnecting_and_keeps_the_vip(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "store.db")
    key = ResourceKey("MeshService", "default", "backend")
    tasks = [
        asyncio.create_task(StatusUpdater(store, "zone-1", True, 0.01).run()),
        asyncio.create_task(VipProvisioner(store).run()),
    ]

    async def proxies_are(counts: dict[str, int]) -> Resource | None:
        found = await store.get(key)
        status = (found.status if found else None) or {}
        done = status.get("dataplaneProxies") == counts and status.get("vips")
        return found if done else None

    try:
        await asyncio.sleep(0.05)  # both subscribed
        await store.put(Resource("Mesh", "", "default", {}))
        for generator in default_generators(False, None):
            await store.put(generator)
        await store.put(mesh_service("backend", "backend"))
        await store.put(dataplane("backend-1", "backend"))
        await eventually(lambda: proxies_are({"connected": 0, "healthy": 0, "total": 1}), "total")
        await store.put(insight("backend-1"))
        up = await eventually(
            lambda: proxies_are({"connected": 1, "healthy": 1, "total": 1}), "connected"
        )
        await store.put(mesh_service("backend", "backend"))  # a user's write keeps the status
        await store.put(insight("backend-1", connected=False))
        down = await eventually(
            lambda: proxies_are({"connected": 0, "healthy": 0, "total": 1}), "disconnected"
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await store.close()
    assert up.status["vips"] == down.status["vips"]
    assert down.status["addresses"][0]["hostname"] == "backend.svc.mesh.local"


async def test_only_this_zones_mesh_services_get_proxies_counted_here(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    made_here = {"kuma.io/origin": "zone", "kuma.io/zone": "us-east-1"}
    made_elsewhere = {"kuma.io/origin": "zone", "kuma.io/zone": "eu-west-1"}
    try:
        await store.put(Resource("Mesh", "", "default", {}))
        await store.put(dataplane("backend-1", "backend"))
        await store.put(mesh_service("backend", "backend", made_here))
        await store.put(mesh_service("backend-x2", "backend", made_elsewhere))
        await StatusUpdater(store, "us-east-1", True).update_mesh("default")
        local = await store.get(ResourceKey("MeshService", "default", "backend"))
        synced = await store.get(ResourceKey("MeshService", "default", "backend-x2"))
    finally:
        await store.close()
    assert local is not None and synced is not None
    assert (local.status or {})["dataplaneProxies"]["total"] == 1
    # Its own zone counts its proxies: this zone's instance of the service is none of them.
    assert "dataplaneProxies" not in (synced.status or {})
