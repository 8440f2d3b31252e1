"""Endpoints in other zones: a service another zone serves is reached through that zone's
ingress, at EDS priority 1, after the local instances at priority 0.

What a zone knows of the others arrives over KDS: their MeshServices (labelled
`kuma.io/origin: zone` and `kuma.io/zone`) and their ZoneIngresses (labelled the same way).
A remote MeshService stands for the `kuma.io/service` its selector asks for; each ingress of
its zone becomes one endpoint of that service, at the ingress's advertised address, however
many MeshServices of the zone name the service. A remote MeshService of a zone with no usable
ingress is skipped, and the log says so.

When the mesh requires zoneEgress (`routing.zoneEgress: true`), the way to every other zone is
this zone's own ZoneEgresses instead of that zone's ingresses: they take the ingresses' place
as endpoints (still labelled with the zone they lead to), and reach the ingresses on the
sidecars' behalf. With no egress registered no other zone has an endpoint at all, never a way
around the egress.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from meshfabric.resources import Parsed
from meshfabric.resources.common import SERVICE_TAG
from meshfabric.resources.origin import DISPLAY_NAME_LABEL, ORIGIN_LABEL, ORIGIN_ZONE, ZONE_LABEL
from meshfabric.resources.types.meshservice import Spec
from meshfabric.resources.types.zoneegress import ZoneEgressFields
from meshfabric.resources.types.zoneingress import ZoneIngressFields, unreachable_reason
from meshfabric.xds.model.endpoint import Endpoint
from meshfabric.xds.model.proxy import Protocol

log = logging.getLogger(__name__)

REMOTE_PRIORITY = 1


@dataclass(frozen=True)
class RemoteIngress:
    name: str
    zone: str
    address: str
    port: int


@dataclass(frozen=True)
class LocalEgress:
    """One of this zone's ZoneEgresses, where its sidecars dial it."""

    name: str
    address: str
    port: int


@dataclass(frozen=True)
class RemoteService:
    """A `kuma.io/service` served in other zones: where to dial, and what it speaks."""

    ingresses: tuple[RemoteIngress, ...]
    protocols: frozenset[Protocol]

    @property
    def endpoints(self) -> list[Endpoint]:
        return ingress_endpoints(self.ingresses)


def ingress_endpoints(ingresses: Iterable[RemoteIngress]) -> list[Endpoint]:
    return [
        Endpoint(ingress.address, ingress.port, ingress.name, REMOTE_PRIORITY, ingress.zone)
        for ingress in ingresses
    ]


def remote_zone(parsed: Parsed[object], local_zone: str) -> str | None:
    """The zone a resource came from, if another zone than `local_zone` made it."""
    labels = parsed.resource.labels
    zone = labels.get(ZONE_LABEL)
    if labels.get(ORIGIN_LABEL) != ORIGIN_ZONE or zone == local_zone:
        return None
    return zone


def remote_services(
    services: Iterable[Parsed[Spec]], by_zone: Mapping[str, list[RemoteIngress]], local_zone: str
) -> dict[str, RemoteService]:
    """Each `kuma.io/service` other zones serve, with the ingresses that reach it."""
    found: dict[str, dict[RemoteIngress, None]] = {}
    protocols: dict[str, set[Protocol]] = {}
    for service in services:
        zone = remote_zone(service, local_zone)
        if zone is None:
            continue
        if zone not in by_zone:
            log.warning(
                "MeshService %s of zone %s skipped: zone %s has no ingress with an advertised "
                "address, so no other zone can reach it",
                service.name,
                zone,
                zone,
            )
            continue
        name = service_tag(service)
        found.setdefault(name, {}).update(dict.fromkeys(by_zone[zone]))  # one per ingress
        protocols.setdefault(name, set()).update(_protocols(service))
    return {
        name: RemoteService(tuple(ingresses), frozenset(protocols[name]))
        for name, ingresses in found.items()
    }


def ingresses_by_zone(
    ingresses: Iterable[Parsed[ZoneIngressFields]], local_zone: str
) -> dict[str, list[RemoteIngress]]:
    """The usable ingresses of each other zone."""
    by_zone: dict[str, list[RemoteIngress]] = {}
    for ingress in ingresses:
        zone = remote_zone(ingress, local_zone)
        if zone is None:
            continue
        networking = ingress.fields.networking
        reason = unreachable_reason(networking)
        if networking is None or reason is not None:
            log.warning("ZoneIngress %s of zone %s skipped: it %s", ingress.name, zone, reason)
            continue
        address, port = networking.advertisedAddress, int(networking.advertisedPort)
        by_zone.setdefault(zone, []).append(RemoteIngress(ingress.name, zone, address, port))
    return by_zone


def service_tag(service: Parsed[Spec]) -> str:
    """The `kuma.io/service` a MeshService stands for: what its zone's ingress routes on."""
    selector = service.fields.selector
    tags = (selector and selector.dataplaneTags) or {}
    display = service.resource.labels.get(DISPLAY_NAME_LABEL) or service.name
    return str(tags.get(SERVICE_TAG) or display)


def _protocols(service: Parsed[Spec]) -> set[Protocol]:
    return {
        Protocol.of({"kuma.io/protocol": port.appProtocol}) for port in service.fields.ports or []
    }


def local_egresses(
    egresses: Iterable[Parsed[ZoneEgressFields]], local_zone: str
) -> tuple[LocalEgress, ...]:
    """This zone's ZoneEgresses that a sidecar can dial (other zones' never sync here)."""
    found = []
    for egress in egresses:
        networking = egress.fields.networking
        if remote_zone(egress, local_zone) is not None or networking is None:
            continue
        if not (networking.address and networking.port):
            log.warning("ZoneEgress %s has no address and port to dial", egress.name)
            continue
        found.append(LocalEgress(egress.name, networking.address, int(networking.port)))
    return tuple(found)


def through_egresses(
    by_zone: Mapping[str, list[RemoteIngress]], egresses: Iterable[LocalEgress]
) -> dict[str, list[RemoteIngress]]:
    """The way to each zone that has an ingress, when it may only be through this zone's
    egresses: the egresses, as that zone's ways in (none if there is no egress)."""
    hops = list(egresses)
    return {
        zone: [RemoteIngress(egress.name, zone, egress.address, egress.port) for egress in hops]
        for zone in by_zone
    }
