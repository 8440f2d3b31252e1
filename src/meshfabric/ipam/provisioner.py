"""Give every MeshService, MeshExternalService and MeshMultiZoneService a VIP, driven by
store change events.

A VIP lives in the resource's `status.vips`, so it survives restarts: at start every recorded
VIP is claimed again before any new one is handed out. A resource whose recorded VIP is
outside its range or already claimed by another gets a new one; one whose status loses its
VIP gets the same one back.
"""

from __future__ import annotations

import logging
from typing import Any

from meshfabric.dataplane_api.mesh import VIP_RANGES
from meshfabric.ipam.allocator import VipAllocator, vips
from meshfabric.resources import Resource, ResourceKey
from meshfabric.store.events import ChangeKind
from meshfabric.store.protocol import Store

log = logging.getLogger(__name__)


class VipProvisioner:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._allocators = {type_name: VipAllocator(net) for type_name, net in VIP_RANGES.items()}
        self._assigned: dict[ResourceKey, str] = {}

    async def run(self) -> None:
        """Until cancelled: every existing resource, then every change."""
        async with self._store.events.subscribe() as queue:
            await self.load()
            while True:
                event = await queue.get()
                if event.key.type not in VIP_RANGES:
                    continue
                try:
                    if event.kind is ChangeKind.DELETED:
                        self._release(event.key)
                    else:
                        await self.ensure(event.key)
                except Exception:
                    log.exception("could not give %s a VIP", event.key)

    async def load(self) -> None:
        pending: list[Resource] = []
        for type_name in VIP_RANGES:
            for resource in (await self._store.list(type_name)).items:
                if not self._claim(resource):
                    pending.append(resource)
        for resource in pending:
            await self._assign(resource)

    async def ensure(self, key: ResourceKey) -> None:
        resource = await self._store.get(key)
        if resource is None:
            self._release(key)
            return
        held = self._assigned.get(key)
        if held is None and self._claim(resource):
            return
        if held is None or held not in vips(resource):
            await self._assign(resource)  # the VIP it holds wins over an edited status

    def _claim(self, resource: Resource) -> bool:
        """Take up the VIP the resource's status already records, if it is free."""
        recorded = vips(resource)[:1]
        if recorded and self._allocators[resource.type].reserve(recorded[0]):
            self._assigned[resource.key] = recorded[0]
            return True
        return False

    async def _assign(self, resource: Resource) -> None:
        address = self._assigned.get(resource.key) or self._allocators[resource.type].allocate()
        self._assigned[resource.key] = address
        status: dict[str, Any] = {**(resource.status or {}), "vips": [{"ip": address}]}
        await self._store.set_status(resource.key, status)
        log.info(
            "assigned VIP %s to %s %s/%s", address, resource.type, resource.mesh, resource.name
        )

    def _release(self, key: ResourceKey) -> None:
        address = self._assigned.pop(key, None)
        if address is not None:
            self._allocators[key.type].release(address)
