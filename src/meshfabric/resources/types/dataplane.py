"""Dataplane: one proxy, its inbounds, outbounds or gateway role (Kuma's dataplane.proto)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from meshfabric.resources.common import (
    PROTOCOL_TAG,
    SERVICE_TAG,
    Duration,
    EnvoyAdmin,
    Labels,
    Proto,
    UInt32,
    address_violations,
    duration_seconds,
    is_ip,
    port_violations,
    tag_violations,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import Affects, KdsFlow, ResourceType, Scope

_PROTOCOLS = ("grpc", "http", "http2", "kafka", "tcp")
_BACKEND_KINDS = ("MeshExternalService", "MeshMultiZoneService", "MeshService")


class Health(Proto):
    ready: bool | None = None


class TcpProbe(Proto):
    pass


class ServiceProbe(Proto):
    interval: Duration | None = None
    timeout: Duration | None = None
    unhealthyThreshold: UInt32 | None = None
    healthyThreshold: UInt32 | None = None
    tcp: TcpProbe | None = None


class Inbound(Proto):
    port: UInt32 = 0
    servicePort: UInt32 = 0
    serviceAddress: str = ""
    address: str = ""
    tags: Labels | None = None
    health: Health | None = None
    serviceProbe: ServiceProbe | None = None
    state: Literal["Ready", "NotReady", "Ignored"] | None = None
    name: str | None = None
    protocol: str | None = None


class OutboundBackendRef(Proto):
    kind: str = ""
    name: str = ""
    port: UInt32 = 0
    labels: Labels | None = None


class Outbound(Proto):
    address: str = ""
    port: UInt32 = 0
    tags: Labels | None = None
    backendRef: OutboundBackendRef | None = None


class Gateway(Proto):
    tags: Labels | None = None
    type: Literal["DELEGATED", "BUILTIN"] = "DELEGATED"


class ReachableBackendRef(Proto):
    kind: str = ""
    name: str = ""
    namespace: str = ""
    port: UInt32 | None = None
    labels: Labels | None = None


class ReachableBackends(Proto):
    refs: list[ReachableBackendRef] | None = None


class TransparentProxying(Proto):
    redirectPortInbound: UInt32 | None = None
    redirectPortOutbound: UInt32 | None = None
    directAccessServices: list[str] | None = None
    reachableServices: list[str] | None = None
    ipFamilyMode: Literal["UnSpecified", "DualStack", "IPv4", "IPv6"] | None = None
    reachableBackends: ReachableBackends | None = None


class Listener(Proto):
    type: Literal["Unspecified", "ZoneIngress", "ZoneEgress"] = "Unspecified"
    address: str = ""
    port: UInt32 = 0
    name: str | None = None
    state: Literal["Ready", "NotReady"] | None = None


class Networking(Proto):
    address: str = ""
    advertisedAddress: str | None = None
    inbound: list[Inbound] | None = None
    outbound: list[Outbound] | None = None
    gateway: Gateway | None = None
    transparentProxying: TransparentProxying | None = None
    admin: EnvoyAdmin | None = None
    listeners: list[Listener] | None = None


class MetricsBackend(Proto):
    name: str | None = None
    type: str = ""
    conf: dict[str, Any] | None = None


class ProbeEndpoint(Proto):
    inboundPort: UInt32 = 0
    inboundPath: str = ""
    path: str = ""


class Probes(Proto):
    port: UInt32 = 0
    endpoints: list[ProbeEndpoint] | None = None


class DataplaneFields(Proto):
    networking: Networking | None = None
    metrics: MetricsBackend | None = None
    probes: Probes | None = None


def _check(dataplane: DataplaneFields) -> list[Violation]:
    """Kuma's rules per role: a delegated gateway, a builtin gateway or a sidecar."""
    networking = dataplane.networking
    if networking is None:
        return [Violation("networking", "must be defined")]
    inbound, outbound = networking.inbound or [], networking.outbound or []
    violations = address_violations("networking.address", networking.address)
    if networking.gateway is not None:
        role = "builtin" if networking.gateway.type == "BUILTIN" else "delegated"
        forbidden: dict[str, Sequence[object] | None] = {
            "inbound": inbound,
            "listeners": networking.listeners,
        }
        if role == "builtin":
            forbidden["outbound"] = outbound
        for name, items in forbidden.items():
            if items:
                reason = f"{name} cannot be defined for {role} gateways"
                violations.append(Violation(f"networking.{name}", reason))
        if role == "builtin" and dataplane.probes is not None:
            violations.append(Violation("probes", "probes cannot be defined for builtin gateways"))
        tags = networking.gateway.tags or {}
        violations += tag_violations("networking.gateway.tags", tags, require_service=bool(tags))
    for index, item in enumerate(inbound):
        violations += _inbound_violations(f"networking.inbound[{index}]", item, networking.address)
    for index, out in enumerate(outbound):
        violations += _outbound_violations(f"networking.outbound[{index}]", out)
    violations += _reachable_backend_violations(networking.transparentProxying)
    if dataplane.probes is not None:
        violations += _probe_violations(dataplane.probes)
    if dataplane.metrics is not None and dataplane.metrics.type != "prometheus":
        reason = 'unknown backend type. Available backends: "prometheus"'
        violations.append(Violation("metrics.type", reason))
    return violations


def _inbound_violations(path: str, inbound: Inbound, dataplane_address: str) -> list[Violation]:
    violations = port_violations(f"{path}.port", inbound.port)
    if inbound.servicePort:
        violations += port_violations(f"{path}.servicePort", inbound.servicePort)
    same_port = inbound.servicePort in (0, inbound.port)
    if inbound.serviceAddress:
        if not is_ip(inbound.serviceAddress):
            reason = "serviceAddress has to be valid IP address"
            violations.append(Violation(f"{path}.serviceAddress", reason))
        if inbound.serviceAddress in (dataplane_address, inbound.address) and same_port:
            reason = "serviceAddress and servicePort has to differ from address and port"
            violations.append(Violation(f"{path}.serviceAddress", reason))
    if inbound.address and not is_ip(inbound.address):
        violations.append(Violation(f"{path}.address", "address has to be valid IP address"))
    # Kuma 2.14 allows inbounds without tags (their service comes from a MeshService);
    # tags that are given must name the service.
    tags = inbound.tags or {}
    violations += tag_violations(f"{path}.tags", tags, require_service=False)
    if tags and SERVICE_TAG not in tags:
        violations.append(Violation(f'{path}.tags["{SERVICE_TAG}"]', "tag has to exist"))
    hint = f"Allowed values: {', '.join(_PROTOCOLS)}"
    if PROTOCOL_TAG in tags and tags[PROTOCOL_TAG] not in _PROTOCOLS:
        reason = f'tag "{PROTOCOL_TAG}" has an invalid value "{tags[PROTOCOL_TAG]}". {hint}'
        violations.append(Violation(f'{path}.tags["{PROTOCOL_TAG}"]', reason))
    if inbound.protocol and inbound.protocol not in _PROTOCOLS:
        reason = f'has an invalid value "{inbound.protocol}". {hint}'
        violations.append(Violation(f"{path}.protocol", reason))
    probe = inbound.serviceProbe
    if probe is not None:
        for name in ("interval", "timeout"):
            value = getattr(probe, name)
            if value is not None and duration_seconds(value) == 0:
                violations.append(
                    Violation(f"{path}.serviceProbe.{name}", "must have a positive value")
                )
        for name in ("unhealthyThreshold", "healthyThreshold"):
            if getattr(probe, name) == 0:
                violations.append(
                    Violation(f"{path}.serviceProbe.{name}", "must have a positive value")
                )
    return violations


def _outbound_violations(path: str, outbound: Outbound) -> list[Violation]:
    violations = port_violations(f"{path}.port", outbound.port)
    if outbound.address and not is_ip(outbound.address):
        violations.append(Violation(f"{path}.address", "address has to be valid IP address"))
    ref = outbound.backendRef
    if ref is None:
        violations += tag_violations(f"{path}.tags", outbound.tags or {}, require_service=True)
        return violations
    if ref.kind not in _BACKEND_KINDS:
        reason = f"invalid value. Available values are: {','.join(_BACKEND_KINDS)}"
        violations.append(Violation(f"{path}.backendRef.kind", reason))
    if not ref.name and not ref.labels:
        reason = "either 'name' or 'labels' should be specified"
        violations.append(Violation(f"{path}.backendRef", reason))
    if ref.kind != "MeshExternalService":
        violations += port_violations(f"{path}.backendRef.port", ref.port)
    if outbound.tags:
        reason = "both backendRef and tags/service cannot be defined"
        violations.append(Violation(f"{path}.backendRef", reason))
    return violations


def _reachable_backend_violations(proxying: TransparentProxying | None) -> list[Violation]:
    backends = proxying.reachableBackends if proxying is not None else None
    violations = []
    for index, ref in enumerate((backends.refs if backends else None) or []):
        path = f"networking.transparentProxying.reachableBackends.refs[{index}]"
        if ref.kind not in _BACKEND_KINDS:
            reason = f"invalid value. Available values are: {','.join(_BACKEND_KINDS)}"
            violations.append(Violation(f"{path}.kind", reason))
        if not ref.name and ref.namespace:
            reason = "name is required, when namespace is defined"
            violations.append(Violation(f"{path}.name", reason))
        elif not ref.name and not ref.labels:
            violations.append(Violation(f"{path}.name", "name or labels are required"))
        if (ref.name or ref.namespace) and ref.labels:
            reason = "labels cannot be defined when name is specified"
            violations.append(Violation(f"{path}.labels", reason))
    return violations


def _probe_violations(probes: Probes) -> list[Violation]:
    violations = port_violations("probes.port", probes.port)
    for index, endpoint in enumerate(probes.endpoints or []):
        path = f"probes.endpoints[{index}]"
        violations += port_violations(f"{path}.inboundPort", endpoint.inboundPort)
        for name in ("inboundPath", "path"):
            if not _is_url_path(getattr(endpoint, name)):
                violations.append(Violation(f"{path}.{name}", "should be a valid URL Path"))
    return violations


def _is_url_path(value: str) -> bool:
    # Go's url.ParseRequestURI: an absolute path or an absolute URL.
    return value.startswith("/") or bool(urlsplit(value).scheme)


TYPE = ResourceType(
    name="Dataplane",
    plural="dataplanes",
    scope=Scope.MESH,
    apply_order=80,
    affects=Affects.DATAPLANE,
    schema=DataplaneFields,
    kds=KdsFlow.ZONE_TO_GLOBAL,
    has_spec=False,
    semantic_checks=(_check,),
)
