"""A Dataplane resource read as the proxy it describes: inbounds, outbounds, identity."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from meshfabric.resources import Parsed, Resource
from meshfabric.resources.common import PROTOCOL_TAG, SERVICE_TAG
from meshfabric.resources.types import dataplane as dataplane_schema
from meshfabric.resources.types.dataplane import DataplaneFields, Networking
from meshfabric.xds.envoy import names


class Protocol(enum.StrEnum):
    TCP = "tcp"
    HTTP = "http"
    HTTP2 = "http2"
    GRPC = "grpc"
    KAFKA = "kafka"

    @property
    def is_http(self) -> bool:
        return self in _HTTP_PROTOCOLS

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> Protocol:
        """Kuma's rule: what kuma.io/protocol says, TCP when it is absent or unknown."""
        return _PROTOCOLS.get(tags.get(PROTOCOL_TAG, "tcp"), Protocol.TCP)


# Looked up once per inbound and per outbound at every regeneration: plain containers, as
# calling an Enum class or reading its members costs several times a dict lookup.
_PROTOCOLS: Mapping[str, Protocol] = {protocol.value: protocol for protocol in Protocol}
_HTTP_PROTOCOLS = frozenset({Protocol.HTTP, Protocol.HTTP2, Protocol.GRPC})


@dataclass(frozen=True)
class Inbound:
    address: str  # where Envoy listens
    port: int
    service_address: str  # where the application listens
    service_port: int
    tags: Mapping[str, str]
    ready: bool = True  # a NotReady inbound is no endpoint of its service
    name: str = ""  # what a MeshService's string targetPort refers to

    @property
    def service(self) -> str:
        return self.tags.get(SERVICE_TAG, "")

    @property
    def protocol(self) -> Protocol:
        return Protocol.of(self.tags)


@dataclass(frozen=True)
class Outbound:
    address: str
    port: int
    service: str  # a kuma.io/service, or the name of a MeshService
    cluster: str  # the destination: that service, or one port of that MeshService


@dataclass(frozen=True, order=True, slots=True)
class ProxyId:
    """Which proxy: the pair (mesh, Dataplane name). Every per-proxy record is keyed by it,
    never by a joined string, which two meshes could spell alike."""

    mesh: str
    name: str

    def __str__(self) -> str:
        return f"{self.mesh}/{self.name}"


@dataclass(frozen=True)
class Proxy:
    mesh: str
    name: str
    address: str
    inbounds: tuple[Inbound, ...]
    outbounds: tuple[Outbound, ...]
    labels: Mapping[str, str]

    @property
    def id(self) -> ProxyId:
        return ProxyId(self.mesh, self.name)

    @property
    def services(self) -> frozenset[str]:
        return frozenset(inbound.service for inbound in self.inbounds if inbound.service)

    @property
    def shape(self) -> frozenset[tuple[str, Protocol]]:
        """What its callers' config depends on, apart from its endpoints."""
        return frozenset((inbound.service, inbound.protocol) for inbound in self.inbounds)

    @classmethod
    def from_resource(cls, resource: Resource) -> Proxy:
        """For a Dataplane read from the store, not one a mesh context holds already."""
        return cls.from_dataplane(Parsed.of(resource, DataplaneFields))

    @classmethod
    def from_dataplane(cls, dataplane: Parsed[DataplaneFields]) -> Proxy:
        networking = dataplane.fields.networking or Networking()
        address = networking.address
        return cls(
            mesh=dataplane.resource.mesh,
            name=dataplane.name,
            address=address,
            inbounds=tuple(_inbound(item, address) for item in networking.inbound or []),
            outbounds=tuple(_outbounds(networking.outbound or [])),
            labels=dict(dataplane.resource.labels),
        )


def _inbound(item: dataplane_schema.Inbound, dataplane_address: str) -> Inbound:
    return Inbound(
        address=item.address or dataplane_address,
        port=item.port,
        service_address=item.serviceAddress or "127.0.0.1",
        service_port=item.servicePort or item.port,
        tags=dict(item.tags or {}),
        name=item.name or "",
        ready=(item.health is None or item.health.ready is not False)
        and item.state in (None, "Ready"),
    )


def _outbounds(items: list[dataplane_schema.Outbound]) -> Iterator[Outbound]:
    """Outbounds name their service by tag (legacy), or by a MeshService or
    MeshExternalService backendRef."""
    for item in items:
        address = item.address or "127.0.0.1"
        ref = item.backendRef
        if ref is not None and ref.kind == "MeshService" and ref.name:
            # Without a port the reference means the MeshService port the outbound listens on.
            cluster = names.mesh_service_cluster(ref.name, ref.port or item.port)
            yield Outbound(address, item.port, ref.name, cluster)
        elif ref is not None and ref.kind == "MeshExternalService" and ref.name:
            cluster = names.external_service_cluster(ref.name)
            yield Outbound(address, item.port, ref.name, cluster)
        elif service := (item.tags or {}).get(SERVICE_TAG, ""):
            yield Outbound(address, item.port, service, names.service_cluster(service))
