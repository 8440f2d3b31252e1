"""A Dataplane resource read as the proxy it describes: inbounds, outbounds, identity."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from meshfabric.resources import Resource
from meshfabric.resources.common import PROTOCOL_TAG, SERVICE_TAG
from meshfabric.xds.envoy import names


class Protocol(enum.StrEnum):
    TCP = "tcp"
    HTTP = "http"
    HTTP2 = "http2"
    GRPC = "grpc"
    KAFKA = "kafka"

    @property
    def is_http(self) -> bool:
        return self in (Protocol.HTTP, Protocol.HTTP2, Protocol.GRPC)

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> Protocol:
        """Kuma's rule: what kuma.io/protocol says, TCP when it is absent or unknown."""
        try:
            return cls(tags.get(PROTOCOL_TAG, "tcp"))
        except ValueError:
            return cls.TCP


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
        networking: dict[str, Any] = resource.spec.get("networking") or {}
        address = str(networking.get("address", ""))
        return cls(
            mesh=resource.mesh,
            name=resource.name,
            address=address,
            inbounds=tuple(_inbound(item, address) for item in networking.get("inbound") or []),
            outbounds=tuple(_outbounds(networking.get("outbound") or [])),
            labels=dict(resource.labels),
        )


def inbound_services(spec: Mapping[str, Any]) -> set[str]:
    """The services a Dataplane spec claims to serve (what its token must cover)."""
    networking = spec.get("networking") or {}
    return {
        str((item.get("tags") or {}).get(SERVICE_TAG, ""))
        for item in networking.get("inbound") or []
    } - {""}


def _inbound(item: Mapping[str, Any], dataplane_address: str) -> Inbound:
    address = str(item.get("address") or dataplane_address)
    port = int(item.get("port", 0))
    return Inbound(
        address=address,
        port=port,
        service_address=str(item.get("serviceAddress") or "127.0.0.1"),
        service_port=int(item.get("servicePort") or port),
        tags=dict(item.get("tags") or {}),
        name=str(item.get("name") or ""),
        ready=(item.get("health") or {}).get("ready", True) is not False
        and item.get("state", "Ready") == "Ready",
    )


def _outbounds(items: list[Mapping[str, Any]]) -> Iterator[Outbound]:
    """Outbounds name their service by tag (legacy) or by a MeshService backendRef."""
    for item in items:
        address = str(item.get("address") or "127.0.0.1")
        port = int(item.get("port", 0))
        ref = item.get("backendRef") or {}
        if ref.get("kind") == "MeshService" and ref.get("name"):
            # Without a port the reference means the MeshService port the outbound listens on.
            cluster = names.mesh_service_cluster(str(ref["name"]), int(ref.get("port") or port))
            yield Outbound(address, port, str(ref["name"]), cluster)
        elif service := str((item.get("tags") or {}).get(SERVICE_TAG, "")):
            yield Outbound(address, port, service, names.service_cluster(service))
