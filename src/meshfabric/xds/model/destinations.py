"""Where a proxy's traffic can go: one concept for services named by tag and for MeshServices.

A destination is one cluster: the `kuma.io/service` a set of inbounds declares, one port of
a MeshService, whose selector picks the inbounds, or one port of a MeshMultiZoneService,
made of the same port of the MeshServices it selects. Each has a name (what a policy's `to`
targetRef matches), a protocol, the identities allowed to answer it, and endpoints. The
endpoints of every destination of a mesh are indexed in one pass over its dataplanes.

Where the endpoints are: a MeshService of this zone, its selected inbounds (then, after them,
other zones' ingresses for the same `kuma.io/service`); a MeshService synced from another
zone, that zone's ingresses only; a MeshMultiZoneService, the local MeshServices' inbounds at
priority 0, then the ingresses of the zones of the others at priority 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from meshfabric.resources import Parsed
from meshfabric.resources.common import SERVICE_TAG
from meshfabric.resources.types import meshmultizoneservice
from meshfabric.resources.types.meshservice import Selector, Spec
from meshfabric.xds.envoy import names
from meshfabric.xds.model.crosszone import (
    RemoteIngress,
    RemoteService,
    ingress_endpoints,
    remote_zone,
    service_tag,
)
from meshfabric.xds.model.endpoint import Endpoint
from meshfabric.xds.model.proxy import Inbound, Outbound, Protocol, Proxy

MULTIZONE_KIND = "MeshMultiZoneService"


class Destination(NamedTuple):
    """A tuple: the index makes one per service at every change of the mesh's dataplanes,
    and a tuple builds in a fraction of a frozen dataclass's time."""

    name: str  # the service or MeshService name that `to` targetRefs use
    cluster: str
    protocol: Protocol
    identities: tuple[str, ...]  # services whose SPIFFE IDs may answer
    # The service the TLS SNI names, which an ingress routes on; `name` when empty.
    routed_as: str = ""
    kind: str = "MeshService"  # what a `to` targetRef naming it says: or MeshMultiZoneService

    @property
    def sni_service(self) -> str:
        return self.routed_as or self.name


@dataclass(frozen=True)
class ServicePort:
    """One port of a MeshService, as its clients and its selected inbounds see it."""

    service: Parsed[Spec]
    port: int
    target: int | str  # the inbound's port, or its name
    protocol: Protocol

    @property
    def cluster(self) -> str:
        return names.mesh_service_cluster(self.service.name, self.port)

    @property
    def destination(self) -> Destination:
        return Destination(
            self.service.name,
            self.cluster,
            self.protocol,
            identities(self.service),
            service_tag(self.service),
        )

    def is_local(self, zone: str) -> bool:
        """Made in `zone` (or standalone), not synced from another zone."""
        return remote_zone(self.service, zone) is None

    @property
    def wanted_service(self) -> str | None:
        """The kuma.io/service its selector requires, if any: an index key."""
        selector = self.service.fields.selector
        return ((selector and selector.dataplaneTags) or {}).get(SERVICE_TAG)

    def selects(self, proxy: Proxy, inbound: Inbound) -> bool:
        selector = self.service.fields.selector or Selector()
        target = inbound.port if isinstance(self.target, int) else inbound.name
        return target == self.target and _selects(selector, proxy, inbound)


def service_ports(service: Parsed[Spec]) -> list[ServicePort]:
    return [
        ServicePort(
            service,
            port.port,
            _target(port.targetPort, port.port),
            Protocol.of({"kuma.io/protocol": port.appProtocol}),
        )
        for port in service.fields.ports or []
    ]


def identities(service: Parsed[Spec]) -> tuple[str, ...]:
    """The services a MeshService's proxies prove in their certificates: its declared
    ServiceTag identities, else the kuma.io/service its selector asks for, else its name."""
    declared = [item.value for item in service.fields.identities or [] if item.type == "ServiceTag"]
    selector = service.fields.selector
    tags = (selector and selector.dataplaneTags) or {}
    return tuple(declared or [tags.get(SERVICE_TAG) or service.name])


class _Entry(NamedTuple):  # a tuple: one per service at every change of the dataplanes
    endpoints: list[Endpoint]
    protocols: set[Protocol]


@dataclass(frozen=True)
class DestinationIndex:
    """Every destination of a mesh with its endpoints, by cluster name."""

    destinations: Mapping[str, Destination]
    endpoints: Mapping[str, Sequence[Endpoint]]

    @classmethod
    def build(
        cls,
        proxies: Mapping[str, Proxy],
        services: Iterable[Parsed[Spec]],
        remote: Mapping[str, RemoteService] | None = None,
        zones: Mapping[str, Sequence[RemoteIngress]] | None = None,
        multizone: Iterable[Parsed[meshmultizoneservice.Spec]] = (),
        zone: str = "",
    ) -> DestinationIndex:
        """`remote`: the services other zones serve, added after the local endpoints;
        `zones`: the ingresses of each other zone, which reach the MeshServices synced from it;
        `multizone`: the mesh's MeshMultiZoneServices; `zone`: this zone."""
        remote = remote or {}
        zones = zones or {}
        ports = [port for service in services for port in service_ports(service)]
        local_ports = [port for port in ports if port.is_local(zone)]
        # Most selectors name a kuma.io/service: only those ports are tried for its inbounds.
        by_service: dict[str | None, list[ServicePort]] = {}
        for port in local_ports:
            by_service.setdefault(port.wanted_service, []).append(port)
        unkeyed = by_service.get(None, [])
        tagged: dict[str, _Entry] = {
            service: _Entry([], set(found.protocols)) for service, found in remote.items()
        }
        # Each MeshService port's own endpoints: selected inbounds, or its zone's ingresses.
        own: dict[str, list[Endpoint]] = {
            port.cluster: ingress_endpoints(zones.get(remote_zone(port.service, zone) or "", ()))
            for port in ports
            if not port.is_local(zone)
        }
        own.update({port.cluster: [] for port in local_ports})
        for name in sorted(proxies):
            proxy = proxies[name]
            for inbound in proxy.inbounds:
                service = inbound.service
                entry = tagged.get(service)
                if entry is None:  # one pass over every dataplane: no entry made to be dropped
                    entry = tagged[service] = _Entry([], set())
                entry.protocols.add(inbound.protocol)
                if not inbound.ready:
                    continue
                endpoint = Endpoint(inbound.address, inbound.port, name)
                entry.endpoints.append(endpoint)
                for port in (*by_service.get(service, ()), *unkeyed):
                    if port.selects(proxy, inbound):
                        own[port.cluster].append(endpoint)
        destinations = {
            names.service_cluster(service): Destination(
                service, names.service_cluster(service), _agreed(entry.protocols), (service,)
            )
            for service, entry in tagged.items()
        }
        destinations.update({port.cluster: port.destination for port in ports})
        endpoints: dict[str, Sequence[Endpoint]] = {
            names.service_cluster(service): entry.endpoints for service, entry in tagged.items()
        }
        endpoints.update(own)
        for service, found in remote.items():  # after the local ones, at a lower priority
            cluster = names.service_cluster(service)
            endpoints[cluster] = [*endpoints[cluster], *found.endpoints]
        for port in local_ports:
            elsewhere = remote.get(port.wanted_service or "")
            if elsewhere is not None:
                endpoints[port.cluster] = [*own[port.cluster], *elsewhere.endpoints]
        for combined in multizone:
            for destination, members in _multizone_ports(combined, ports, own, zone):
                destinations[destination.cluster] = destination
                endpoints[destination.cluster] = members
        return cls(destinations, endpoints)

    def of(self, outbound: Outbound) -> Destination:
        """Where an outbound goes; a service nobody serves yet is TCP with no endpoints."""
        found = self.destinations.get(outbound.cluster)
        if found is not None:
            return found
        return Destination(outbound.service, outbound.cluster, Protocol.TCP, (outbound.service,))


def served_clusters(
    proxy: Proxy,
    services: Iterable[Parsed[Spec]],
    multizone: Iterable[Parsed[meshmultizoneservice.Spec]] = (),
    zone: str = "",
) -> set[str]:
    """The clusters a dataplane of `zone` is (or would be, once ready) an endpoint of."""
    clusters = {names.service_cluster(service) for service in proxy.services}
    multizone = list(multizone)
    for service in services:
        for port in service_ports(service):
            if not port.is_local(zone) or not any(port.selects(proxy, i) for i in proxy.inbounds):
                continue
            clusters.add(port.cluster)
            for combined in multizone:
                if meshmultizoneservice.selects(combined.fields, service.resource):
                    clusters.add(names.multizone_service_cluster(combined.name, port.port))
    return clusters


def _multizone_ports(
    service: Parsed[meshmultizoneservice.Spec],
    ports: Sequence[ServicePort],
    own: Mapping[str, Sequence[Endpoint]],
    zone: str,
) -> Iterator[tuple[Destination, list[Endpoint]]]:
    """Each port of a MeshMultiZoneService, with the endpoints of that port of every
    MeshService it selects: the local ones' inbounds first, then other zones' ingresses."""
    members = [p for p in ports if meshmultizoneservice.selects(service.fields, p.service.resource)]
    members.sort(key=lambda member: not member.is_local(zone))  # stable: local first
    for port in service.fields.ports:
        same = [member for member in members if member.port == port.port]
        found = dict.fromkeys(endpoint for member in same for endpoint in own[member.cluster])
        served_by = tuple(dict.fromkeys(i for member in same for i in identities(member.service)))
        destination = Destination(
            service.name,
            names.multizone_service_cluster(service.name, port.port),
            Protocol.of({"kuma.io/protocol": port.appProtocol}),
            served_by or (service.name,),
            service_tag(same[0].service) if same else "",
            MULTIZONE_KIND,
        )
        yield destination, sorted(found, key=lambda endpoint: endpoint.priority)


def _agreed(protocols: set[Protocol]) -> Protocol:
    """The protocol a service speaks; TCP unless all its inbounds agree on another."""
    return next(iter(protocols)) if len(protocols) == 1 else Protocol.TCP


def _target(value: int | str | None, port: int) -> int | str:
    if value is None:
        return port
    return int(value) if isinstance(value, int) or value.isdigit() else value


def _selects(selector: Selector, proxy: Proxy, inbound: Inbound) -> bool:
    """Kuma's MeshService selectors: inbound tags, a dataplane by name, or dataplane labels."""
    if "dataplaneRef" in selector.model_fields_set:
        return selector.dataplaneRef is not None and selector.dataplaneRef.name == proxy.name
    if "dataplaneLabels" in selector.model_fields_set:
        labels = selector.dataplaneLabels
        wanted = (labels and labels.matchLabels) or {}
        return all(proxy.labels.get(key) == value for key, value in wanted.items())
    wanted = selector.dataplaneTags or {}
    return bool(wanted) and all(inbound.tags.get(key) == value for key, value in wanted.items())
