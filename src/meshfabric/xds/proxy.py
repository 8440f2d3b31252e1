"""A Dataplane resource read as the proxy it describes: inbounds, outbounds, identity."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshfabric.resources import Resource
from meshfabric.resources.common import PROTOCOL_TAG, SERVICE_TAG


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
    service: str


@dataclass(frozen=True)
class Proxy:
    mesh: str
    name: str
    address: str
    inbounds: tuple[Inbound, ...]
    outbounds: tuple[Outbound, ...]
    labels: Mapping[str, str]

    @property
    def node_id(self) -> str:
        return node_id(self.mesh, self.name)

    @property
    def services(self) -> frozenset[str]:
        return frozenset(inbound.service for inbound in self.inbounds if inbound.service)

    @property
    def shape(self) -> frozenset[tuple[str, Protocol]]:
        """What its callers' config depends on, apart from its endpoints."""
        return frozenset((inbound.service, inbound.protocol) for inbound in self.inbounds)

    @property
    def reached_services(self) -> frozenset[str]:
        return frozenset(outbound.service for outbound in self.outbounds)

    @classmethod
    def from_resource(cls, resource: Resource) -> Proxy:
        networking: dict[str, Any] = resource.spec.get("networking") or {}
        address = str(networking.get("address", ""))
        return cls(
            mesh=resource.mesh,
            name=resource.name,
            address=address,
            inbounds=tuple(_inbound(item, address) for item in networking.get("inbound") or []),
            outbounds=tuple(
                _outbound(item) for item in networking.get("outbound") or [] if _service_of(item)
            ),
            labels=dict(resource.labels),
        )


def node_id(mesh: str, name: str) -> str:
    """Kuma's node id: <mesh>.<dataplane name>."""
    return f"{mesh}.{name}"


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
        ready=(item.get("health") or {}).get("ready", True) is not False
        and item.get("state", "Ready") == "Ready",
    )


def _outbound(item: Mapping[str, Any]) -> Outbound:
    return Outbound(
        address=str(item.get("address") or "127.0.0.1"),
        port=int(item.get("port", 0)),
        service=_service_of(item),
    )


def _service_of(outbound: Mapping[str, Any]) -> str:
    """An outbound names its service by tag (legacy) or by a MeshService backendRef."""
    ref = outbound.get("backendRef") or {}
    if ref.get("kind") == "MeshService" and ref.get("name"):
        return str(ref["name"])
    return str((outbound.get("tags") or {}).get(SERVICE_TAG, ""))
