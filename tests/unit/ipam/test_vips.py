"""VIPs: one per service, from its type's range, kept across restarts, following changes."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Any

import pytest

from meshfabric.ipam import RangeExhausted, VipAllocator, VipProvisioner, vips
from meshfabric.resources import Resource, ResourceKey
from meshfabric.store.sqlite import SqliteStore


def service(name: str, type_name: str = "MeshService") -> Resource:
    spec: dict[str, Any] = {"ports": [{"port": 80, "appProtocol": "http"}]}
    if type_name == "MeshMultiZoneService":
        spec["selector"] = {"meshService": {"matchLabels": {"app": name}}}
    if type_name == "MeshExternalService":
        spec = {"match": {"port": 443}, "endpoints": [{"address": "example.com", "port": 443}]}
    return Resource(type_name, "default", name, spec)


def test_addresses_come_in_order_never_twice_and_released_ones_last() -> None:
    allocator = VipAllocator(ipaddress.IPv4Network("10.0.0.0/29"))  # six usable
    assert allocator.reserve("10.0.0.2")
    assert not allocator.reserve("10.0.0.2")
    assert not allocator.reserve("10.1.0.1")
    handed = [allocator.allocate() for _ in range(5)]
    assert handed == ["10.0.0.1", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
    with pytest.raises(RangeExhausted):
        allocator.allocate()
    allocator.release("10.0.0.4")
    assert allocator.allocate() == "10.0.0.4"


async def stored_vips(store: SqliteStore, *keys: ResourceKey) -> list[list[str]]:
    found = [await store.get(key) for key in keys]
    return [vips(resource) if resource else [] for resource in found]


async def wait_for_vips(store: SqliteStore, *keys: ResourceKey) -> list[list[str]]:
    for _ in range(200):
        current = await stored_vips(store, *keys)
        if all(current):
            return current
        await asyncio.sleep(0.01)
    raise AssertionError(f"no VIPs for {keys}: {current}")


async def test_each_type_gets_its_range_and_the_vips_survive_a_restart(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    try:
        await store.put(service("flight-control"))
        first = VipProvisioner(store)
        await first.load()
        running = asyncio.create_task(first.run())
        await asyncio.sleep(0.05)  # subscribed
        for resource in (
            service("booking"),
            service("payments", "MeshExternalService"),
            service("flights", "MeshMultiZoneService"),
        ):
            await store.put(resource)
        keys = [
            ResourceKey("MeshService", "default", "flight-control"),
            ResourceKey("MeshService", "default", "booking"),
            ResourceKey("MeshExternalService", "default", "payments"),
            ResourceKey("MeshMultiZoneService", "default", "flights"),
        ]
        before = await wait_for_vips(store, *keys)
        running.cancel()
        assert [v[0].split(".")[0] for v in before] == ["241", "241", "242", "243"]
        assert len({v[0] for v in before}) == 4

        await store.put(service("crew"))
        restarted = VipProvisioner(store)
        await restarted.load()
        after = await stored_vips(store, *keys, ResourceKey("MeshService", "default", "crew"))
    finally:
        await store.close()
    assert after[:4] == before
    assert after[4][0] not in {v[0] for v in before}


async def test_a_deleted_service_frees_its_vip_and_a_cleared_status_gets_it_back(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "store.db")
    key = ResourceKey("MeshService", "default", "booking")
    try:
        provisioner = VipProvisioner(store)
        await store.put(service("booking"))
        await provisioner.ensure(key)
        [[held]] = await stored_vips(store, key)
        await store.set_status(key, None)
        await provisioner.ensure(key)
        assert await stored_vips(store, key) == [[held]]
        await store.delete(key)
        await provisioner.ensure(key)
        await store.put(service("crew"))
        await provisioner.ensure(ResourceKey("MeshService", "default", "crew"))
        [[crew]] = await stored_vips(store, ResourceKey("MeshService", "default", "crew"))
    finally:
        await store.close()
    assert crew != held  # a freed VIP is reused only after every other one
