"""Keep the computed status of every MeshService and MeshMultiZoneService current, driven by
store change events.

A change to a Dataplane, its DataplaneInsight, a service or a HostnameGenerator recomputes the
status of the services of that mesh (of every mesh for a HostnameGenerator), once for all the
changes that arrive within the debounce window. Status is written with the store's
`set_status`, which user writes and sync leave alone, and only when it differs, so the
updater's own writes end in a pass that writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from meshfabric.insights.status import (
    dataplane_online,
    mesh_service_status,
    multizone_service_status,
)
from meshfabric.resources import Parsed, Resource
from meshfabric.resources.origin import synced_to_zone
from meshfabric.resources.types import hostnamegenerator, meshmultizoneservice, meshservice
from meshfabric.store.events import ChangeEvent
from meshfabric.store.protocol import Store
from meshfabric.xds.model.proxy import Proxy

log = logging.getLogger(__name__)

_PER_MESH = {"Dataplane", "DataplaneInsight", "MeshService", "MeshMultiZoneService"}


@dataclass
class _Pending:
    meshes: set[str] = field(default_factory=set)
    every_mesh: bool = False

    def add(self, event: ChangeEvent) -> None:
        if event.key.type in _PER_MESH:
            self.meshes.add(event.key.mesh)
        elif event.key.type == "Mesh":
            self.meshes.add(event.key.name)
        elif event.key.type == "HostnameGenerator":
            self.every_mesh = True


class StatusUpdater:
    """`counts_proxies` on a control plane whose zone runs the proxies (a zone, not global);
    `zone` names the zone of MeshServices that carry no `kuma.io/zone` label."""

    def __init__(
        self, store: Store, zone: str, counts_proxies: bool, debounce_seconds: float = 0.05
    ) -> None:
        self._store = store
        self._zone = zone
        self._counts_proxies = counts_proxies
        self._debounce = debounce_seconds

    async def run(self) -> None:
        """Until cancelled: every mesh once, then the meshes each batch of changes touches."""
        async with self._store.events.subscribe() as queue:
            await self._update(_Pending(every_mesh=True))
            while True:
                pending = _Pending()
                pending.add(await queue.get())
                await asyncio.sleep(self._debounce)
                while not queue.empty():
                    pending.add(queue.get_nowait())
                await self._update(pending)

    async def _update(self, pending: _Pending) -> None:
        meshes = pending.meshes
        if pending.every_mesh:
            meshes = {mesh.name for mesh in (await self._store.list("Mesh", "")).items}
        for mesh in sorted(meshes):
            try:
                await self.update_mesh(mesh)
            except Exception:
                log.exception("could not compute the service status of mesh %s", mesh)

    async def update_mesh(self, mesh: str) -> None:
        services = (await self._store.list("MeshService", mesh)).items
        multizone = (await self._store.list("MeshMultiZoneService", mesh)).items
        if not services and not multizone:
            return
        generators = [
            Parsed.of(generator, hostnamegenerator.Spec)
            for generator in (await self._store.list("HostnameGenerator", "")).items
        ]
        proxies = await self._proxies(mesh)
        insights = (await self._store.list("DataplaneInsight", mesh)).items
        online = {insight.name: dataplane_online(insight) for insight in insights}
        for service in services:
            # A service synced from another zone keeps the counts its own zone made.
            local = not synced_to_zone(service.labels, self._zone)
            parsed = Parsed.of(service, meshservice.Spec)
            status = mesh_service_status(parsed, generators, proxies if local else None, online)
            await self._write(service, status)
        for service in multizone:
            parsed_multizone = Parsed.of(service, meshmultizoneservice.Spec)
            status = multizone_service_status(parsed_multizone, services, generators, self._zone)
            await self._write(service, status)

    async def _proxies(self, mesh: str) -> list[Proxy] | None:
        if not self._counts_proxies:
            return None
        dataplanes = (await self._store.list("Dataplane", mesh)).items
        return [Proxy.from_resource(dataplane) for dataplane in dataplanes]

    async def _write(self, resource: Resource, status: dict[str, Any]) -> None:
        if status != resource.status:
            await self._store.set_status(resource.key, status)
