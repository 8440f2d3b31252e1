"""MeshServices a zone makes from its Dataplanes, as Kuma's generator does on Universal.

In a mesh whose `meshServices.mode` is not `Disabled` (unset means `Disabled`, as in Kuma),
every `kuma.io/service` of the zone's Dataplane inbounds that is a DNS-1035 label becomes a
MeshService of that name:
- `selector.dataplaneTags` `{kuma.io/service: <name>}`;
- one port per inbound of that service: `port` and `targetPort` the inbound's port, `name`
  the inbound's name (else the port number), `appProtocol` its protocol (`protocol`, else the
  `kuma.io/protocol` tag; `tcp` when absent or unknown). The ports must be the same on every
  Dataplane of the service: the first Dataplane by name decides, unless the stored ports
  already match one of them (then they stay);
- labels `kuma.io/managed-by: meshservice-generator`, `kuma.io/env: universal`,
  `kuma.io/origin: zone`, `kuma.io/zone`, `kuma.io/mesh`, `kuma.io/display-name`.

A MeshService someone wrote (without that `managed-by` label) is never touched, and a
generated one is never made where one of the same name exists: the written one wins. When a
generated service has no Dataplane left, it is labelled with the time
(`kuma.io/deletion-grace-period-started-at`, RFC 3339) and deleted once the grace period has
passed, unless a Dataplane comes back first. With the mode `Disabled`, the generated
services of the mesh are deleted at once. What came from another zone is left alone.

Kuma looks every 2 s; here the store's change events drive it (a Dataplane, MeshService or
Mesh change recomputes that mesh, debounced), and a timer per mesh ends grace periods.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from meshfabric.resources import Parsed, Resource, ResourceKey
from meshfabric.resources.common import PROTOCOL_TAG, SERVICE_TAG
from meshfabric.resources.origin import (
    DISPLAY_NAME_LABEL,
    ORIGIN_LABEL,
    ORIGIN_ZONE,
    ZONE_LABEL,
    synced_to_zone,
)
from meshfabric.resources.types.dataplane import DataplaneFields, Inbound, Networking
from meshfabric.resources.types.mesh import MeshFields
from meshfabric.resources.types.meshservice import Spec as MeshServiceSpec
from meshfabric.store.errors import Conflict
from meshfabric.store.protocol import Store
from meshfabric.xds.model.proxy import Protocol

log = logging.getLogger(__name__)

MANAGED_BY_LABEL = "kuma.io/managed-by"
GENERATOR = "meshservice-generator"
ENV_LABEL = "kuma.io/env"
UNIVERSAL = "universal"
MESH_LABEL = "kuma.io/mesh"
GRACE_LABEL = "kuma.io/deletion-grace-period-started-at"
_TYPE = "MeshService"
_WATCHED = {"Dataplane", "MeshService"}
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


def is_generated(service: Resource) -> bool:
    return service.labels.get(MANAGED_BY_LABEL) == GENERATOR


def generates(mesh: Resource) -> bool:
    """Whether the mesh's `meshServices.mode` lets its zones generate MeshServices."""
    mode = MeshFields.model_validate(mesh.spec).meshServices
    return mode is not None and mode.mode not in (None, "Disabled")


def service_ports(dataplane: Resource) -> dict[str, list[dict[str, Any]]]:
    """The MeshService ports each `kuma.io/service` of the Dataplane's inbounds stands for."""
    networking = Parsed.of(dataplane, DataplaneFields).fields.networking or Networking()
    ports: dict[str, list[dict[str, Any]]] = {}
    for inbound in networking.inbound or []:
        service = (inbound.tags or {}).get(SERVICE_TAG, "")
        if _DNS_1035_LABEL.fullmatch(service):
            ports.setdefault(service, []).append(_port(inbound))
    return ports


def _stored_ports(service: Resource) -> list[dict[str, Any]]:
    """A stored MeshService's ports in the shape `service_ports` gives them."""
    ports = Parsed.of(service, MeshServiceSpec).fields.ports or []
    return [port.model_dump(exclude_none=True) for port in ports]


def _port(inbound: Inbound) -> dict[str, Any]:
    protocol = inbound.protocol or (inbound.tags or {}).get(PROTOCOL_TAG, "tcp")
    return {
        "name": inbound.name or str(inbound.port),
        "port": inbound.port,
        "targetPort": inbound.port,
        "appProtocol": Protocol.of({PROTOCOL_TAG: protocol}).value,
    }


def wanted_ports(
    dataplanes: Iterable[Resource], stored: Mapping[str, Resource]
) -> dict[str, list[dict[str, Any]]]:
    """The ports of each service to generate; `stored` the generated services there are."""
    candidates: dict[str, list[list[dict[str, Any]]]] = {}
    for dataplane in sorted(dataplanes, key=lambda resource: resource.name):
        for service, ports in service_ports(dataplane).items():
            candidates.setdefault(service, []).append(ports)
    chosen = {}
    for service, options in candidates.items():
        current = _stored_ports(stored[service]) if service in stored else None
        chosen[service] = current if current in options else options[0]
        if any(option != chosen[service] for option in options):
            log.warning(
                "the Dataplanes of %s differ in their inbound ports: the MeshService keeps %s",
                service,
                chosen[service],
            )
    return chosen


@dataclass
class Plan:
    """What one pass over a mesh writes: resources with the version each must still be at
    (0: must not exist), deletions likewise, and when to look again for a grace period."""

    puts: list[tuple[Resource, int]] = field(default_factory=list)
    deletes: list[tuple[ResourceKey, int]] = field(default_factory=list)
    recheck_in: float | None = None

    def recheck(self, seconds: float) -> None:
        self.recheck_in = seconds if self.recheck_in is None else min(self.recheck_in, seconds)


def plan(
    mesh: Resource,
    dataplanes: Iterable[Resource],
    services: Iterable[Resource],
    zone: str,
    now: datetime,
    grace_seconds: float,
) -> Plan:
    """The writes that bring the mesh's generated MeshServices in line with its Dataplanes."""
    result = Plan()
    services = [s for s in services if not synced_to_zone(s.labels, zone)]
    generated = {s.name: s for s in services if is_generated(s)}
    if not generates(mesh):
        result.deletes = [(s.key, s.version) for s in generated.values()]
        return result
    local = [d for d in dataplanes if not synced_to_zone(d.labels, zone)]
    wanted = wanted_ports(local, generated)
    labels = _labels(mesh.name, zone)
    for name, service in generated.items():
        if name in wanted:
            _keep(result, service, wanted[name], labels)
        else:
            _retire(result, service, now, grace_seconds)
    taken = {service.name for service in services}
    for name, ports in wanted.items():
        if name not in taken:
            spec = {"selector": {"dataplaneTags": {SERVICE_TAG: name}}, "ports": ports}
            created = Resource(_TYPE, mesh.name, name, spec, {**labels, DISPLAY_NAME_LABEL: name})
            result.puts.append((created, 0))
    return result


def _labels(mesh: str, zone: str) -> dict[str, str]:
    return {
        MESH_LABEL: mesh,
        MANAGED_BY_LABEL: GENERATOR,
        ENV_LABEL: UNIVERSAL,
        ORIGIN_LABEL: ORIGIN_ZONE,
        ZONE_LABEL: zone,
    }


def _keep(
    result: Plan, service: Resource, ports: list[dict[str, Any]], labels: dict[str, str]
) -> None:
    """Ports as the Dataplanes have them, the generator's labels, no grace period; labels
    someone else added stay."""
    others = {k: v for k, v in service.labels.items() if k != GRACE_LABEL}
    wanted_labels = {**others, **labels, DISPLAY_NAME_LABEL: service.name}
    spec = {**service.spec, "ports": ports}
    if spec != service.spec or wanted_labels != service.labels:
        updated = Resource(_TYPE, service.mesh, service.name, spec, wanted_labels)
        result.puts.append((updated, service.version))


def _retire(result: Plan, service: Resource, now: datetime, grace_seconds: float) -> None:
    started = _grace_started(service)
    if started is None:
        labels = {**service.labels, GRACE_LABEL: now.isoformat(timespec="seconds")}
        marked = Resource(_TYPE, service.mesh, service.name, service.spec, labels)
        result.puts.append((marked, service.version))
        result.recheck(grace_seconds)
        return
    left = grace_seconds - (now - started).total_seconds()
    if left <= 0:
        result.deletes.append((service.key, service.version))
    else:
        result.recheck(left)


def _grace_started(service: Resource) -> datetime | None:
    """When the grace period began; None if it has not, or the label cannot be read (then
    it begins again, as in Kuma)."""
    text = service.labels.get(GRACE_LABEL)
    if text is None:
        return None
    try:
        started = datetime.fromisoformat(text)
    except ValueError:
        log.warning("%s: unreadable %s %r, starting it again", service.key, GRACE_LABEL, text)
        return None
    return started if started.tzinfo is not None else started.replace(tzinfo=UTC)


class MeshServiceGenerator:
    """Runs on the leader of a zone's control planes. `zone` is the zone's name."""

    def __init__(
        self, store: Store, zone: str, grace_seconds: float, debounce_seconds: float = 0.05
    ) -> None:
        self._store = store
        self._zone = zone
        self._grace = grace_seconds
        self._debounce = debounce_seconds
        self._due: asyncio.Queue[str] = asyncio.Queue()
        self._timers: dict[str, asyncio.TimerHandle] = {}

    async def run(self) -> None:
        """Until cancelled: every mesh once, then the meshes that changes or timers name."""
        async with self._store.events.subscribe() as events:
            forwarding = asyncio.create_task(self._forward(events))
            try:
                for mesh in (await self._store.list("Mesh", "")).items:
                    self._due.put_nowait(mesh.name)
                while True:
                    meshes = {await self._due.get()}
                    await asyncio.sleep(self._debounce)
                    while not self._due.empty():
                        meshes.add(self._due.get_nowait())
                    for mesh_name in sorted(meshes):
                        await self._update_logged(mesh_name)
            finally:
                forwarding.cancel()
                for timer in self._timers.values():
                    timer.cancel()

    async def _forward(self, events: asyncio.Queue[Any]) -> None:
        while True:
            event = await events.get()
            if event.key.type in _WATCHED:
                self._due.put_nowait(event.key.mesh)
            elif event.key.type == "Mesh":
                self._due.put_nowait(event.key.name)

    async def _update_logged(self, mesh: str) -> None:
        try:
            await self.update_mesh(mesh)
        except Conflict:
            self._due.put_nowait(mesh)  # changed meanwhile: look again at what is stored now
        except Exception:
            log.exception("could not generate the MeshServices of mesh %s", mesh)

    async def update_mesh(self, mesh_name: str) -> None:
        mesh = await self._store.get(ResourceKey("Mesh", "", mesh_name))
        if mesh is None:
            return  # its contents go with it
        if generates(mesh):
            dataplanes = (await self._store.list("Dataplane", mesh_name)).items
            services = (await self._store.list(_TYPE, mesh_name)).items
        else:  # only generated ones to delete, if any: no need to read every service
            dataplanes = []
            managed = {MANAGED_BY_LABEL: GENERATOR}
            services = (await self._store.list(_TYPE, mesh_name, labels=managed)).items
        now = datetime.now(UTC)
        writes = plan(mesh, dataplanes, services, self._zone, now, self._grace)
        for resource, version in writes.puts:
            await self._store.put(resource, version)
            log.info("wrote generated MeshService %s", resource.key)
        for key, version in writes.deletes:
            await self._store.delete(key, version)
            log.info("deleted generated MeshService %s", key)
        self._schedule(mesh_name, writes.recheck_in)

    def _schedule(self, mesh: str, seconds: float | None) -> None:
        timer = self._timers.pop(mesh, None)
        if timer is not None:
            timer.cancel()
        if seconds is not None:
            loop = asyncio.get_running_loop()
            self._timers[mesh] = loop.call_later(seconds, self._due.put_nowait, mesh)
