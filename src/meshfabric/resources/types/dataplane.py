"""Dataplane: one proxy, its inbounds, outbounds or gateway role (Kuma's dataplane.proto)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    is_dns_subdomain,
    is_ip,
    overlaps_loopback,
    port_violations,
    tag_violations,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import Affects, KdsFlow, ResourceType, Scope
from meshfabric.resources.types.mesh import prometheus_conf_violations

_PROTOCOLS = ("grpc", "http", "http2", "kafka", "tcp")
_BACKEND_KINDS = ("MeshExternalService", "MeshMultiZoneService", "MeshService")
_IDENTIFIER_REASON = (
    "invalid characters. A lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric character"
)


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
    violations = _admin_port_violations(networking)
    gateway = networking.gateway
    if gateway is None:
        violations += _networking_violations(networking)
        violations += _probe_violations(dataplane.probes)
        if dataplane.metrics is not None:
            violations += _metrics_violations(dataplane.metrics)
        return violations + _listener_violations(networking)
    builtin = gateway.type == "BUILTIN"
    role = "builtin" if builtin else "delegated"
    forbidden: dict[str, Sequence[object] | None] = {"inbound": networking.inbound}
    if builtin:
        forbidden["outbound"] = networking.outbound
    forbidden["listeners"] = networking.listeners
    for name, items in forbidden.items():
        if items:
            reason = f"{name} cannot be defined for {role} gateways"
            violations.append(Violation(f"networking.{name}", reason))
    if builtin and dataplane.probes is not None:
        # Kuma reports it under networking, though probes sit beside it.
        reason = "probes cannot be defined for builtin gateways"
        violations.append(Violation("networking.probes", reason))
    violations += _gateway_violations(gateway)
    violations += _networking_violations(networking)
    if not builtin:
        violations += _probe_violations(dataplane.probes)
    return violations


def _admin_port_violations(networking: Networking) -> list[Violation]:
    if networking.admin is None:
        return []
    port = networking.admin.port
    violations = []
    for inbound in networking.inbound or []:
        dataplane_ip = inbound.address or networking.address
        workload_ip = inbound.serviceAddress or dataplane_ip
        workload_port = inbound.servicePort or inbound.port
        if (port == inbound.port and overlaps_loopback(dataplane_ip)) or (
            port == workload_port and overlaps_loopback(workload_ip)
        ):
            violations.append(Violation("networking.admin.port", "must differ from inbound"))
            break
    for outbound in networking.outbound or []:
        if port == outbound.port and overlaps_loopback(outbound.address or "127.0.0.1"):
            violations.append(Violation("networking.admin.port", "must differ from outbound"))
            break
    return violations


def _networking_violations(networking: Networking) -> list[Violation]:
    violations = address_violations("networking.address", networking.address)
    for index, inbound in enumerate(networking.inbound or []):
        path = f"networking.inbound[{index}]"
        violations += _inbound_violations(path, inbound, networking.address)
        # Inbounds without tags take their service from a MeshService (Kuma 2.14);
        # tags that are given must name the service.
        if inbound.tags and SERVICE_TAG not in inbound.tags:
            violations.append(Violation(f'{path}.tags["{SERVICE_TAG}"]', "tag has to exist"))
    for index, outbound in enumerate(networking.outbound or []):
        violations += _outbound_violations(f"networking.outbound[{index}]", outbound)
    return violations + _reachable_backend_violations(networking.transparentProxying)


def _gateway_violations(gateway: Gateway) -> list[Violation]:
    tags = gateway.tags or {}
    violations = []
    protocol = tags.get(PROTOCOL_TAG)
    if protocol is not None and protocol.lower() != "tcp":
        reason = f'other values than tcp are not allowed, provided value "{protocol}"'
        violations.append(Violation(f'networking.gateway.tags["{PROTOCOL_TAG}"]', reason))
    return violations + tag_violations("networking.gateway.tags", tags, require_service=bool(tags))


def _metrics_violations(metrics: MetricsBackend) -> list[Violation]:
    if metrics.type != "prometheus":
        reason = 'unknown backend type. Available backends: "prometheus"'
        return [Violation("metrics.type", reason)]
    return prometheus_conf_violations("metrics.conf", metrics.conf or {})


def _listener_violations(networking: Networking) -> list[Violation]:
    """Zone proxy listeners embedded in a sidecar: typed, addressed, and clashing with
    neither each other nor an inbound."""
    names = {inbound.name or str(inbound.port) for inbound in networking.inbound or []}
    inbound_sockets = {
        f"{inbound.address or networking.address}:{inbound.port}"
        for inbound in networking.inbound or []
    }
    types_by_socket: dict[str, str] = {}
    violations = []
    for index, listener in enumerate(networking.listeners or []):
        path = f"networking.listeners[{index}]"
        if listener.type == "Unspecified":
            reason = "type must be ZoneIngress or ZoneEgress"
            violations.append(Violation(f"{path}.type", reason))
        violations += address_violations(f"{path}.address", listener.address)
        violations += port_violations(f"{path}.port", listener.port)
        if listener.name:
            if listener.name in names:
                reason = f'name "{listener.name}" must be unique across inbounds and listeners'
                violations.append(Violation(f"{path}.name", reason))
            names.add(listener.name)
        socket = f"{listener.address}:{listener.port}"
        if socket in types_by_socket:
            clash = (
                "is already used by another listener"
                if types_by_socket[socket] == listener.type
                else "is used by listeners of different types"
            )
            violations.append(Violation(path, f"address:port {socket} {clash}"))
        else:
            types_by_socket[socket] = listener.type
        if socket in inbound_sockets:
            violations.append(
                Violation(path, f"address:port {socket} collides with an inbound listener")
            )
    return violations


def _inbound_violations(path: str, inbound: Inbound, dataplane_address: str) -> list[Violation]:
    violations = port_violations(f"{path}.port", inbound.port)
    if inbound.servicePort:
        violations += port_violations(f"{path}.servicePort", inbound.servicePort)
    same_port = inbound.servicePort in (0, inbound.port)
    clash = Violation(
        f"{path}.serviceAddress",
        "serviceAddress and servicePort has to differ from address and port",
    )
    if inbound.serviceAddress:
        if not is_ip(inbound.serviceAddress):
            reason = "serviceAddress has to be valid IP address"
            violations.append(Violation(f"{path}.serviceAddress", reason))
        if inbound.serviceAddress == dataplane_address and same_port:
            violations.append(clash)
    if inbound.address:
        if not is_ip(inbound.address):
            violations.append(Violation(f"{path}.address", "address has to be valid IP address"))
        if inbound.address == inbound.serviceAddress and same_port:
            violations.append(clash)
    tags = inbound.tags or {}
    hint = f"Allowed values: {', '.join(_PROTOCOLS)}"
    if PROTOCOL_TAG in tags and not _is_known_protocol(tags[PROTOCOL_TAG]):
        reason = f'tag "{PROTOCOL_TAG}" has an invalid value "{tags[PROTOCOL_TAG]}". {hint}'
        violations.append(Violation(f'{path}.tags["{PROTOCOL_TAG}"]', reason))
    violations += tag_violations(f"{path}.tags", tags, require_service=False)
    if inbound.protocol and not _is_known_protocol(inbound.protocol):
        reason = f'has an invalid value "{inbound.protocol}". {hint}'
        violations.append(Violation(f"{path}.protocol", reason))
    return violations + _service_probe_violations(f"{path}.serviceProbe", inbound.serviceProbe)


def _is_known_protocol(value: str) -> bool:
    # Kuma's ParseProtocol: any case, and two protocols it knows but does not list.
    return value.lower() in (*_PROTOCOLS, "tls", "mysql")


def _service_probe_violations(path: str, probe: ServiceProbe | None) -> list[Violation]:
    if probe is None:
        return []
    violations = []
    for name in ("interval", "timeout"):
        value = getattr(probe, name)
        if value is not None and duration_seconds(value) == 0:
            violations.append(Violation(f"{path}.{name}", "must have a positive value"))
    for name in ("unhealthyThreshold", "healthyThreshold"):
        if getattr(probe, name) == 0:
            violations.append(Violation(f"{path}.{name}", "must have a positive value"))
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
        # Kuma's path, misspelt as Kuma spells it.
        path = f"networking.transparentProxing.reachableBackends.refs[{index}]"
        if ref.kind not in _BACKEND_KINDS:
            reason = f"invalid value. Available values are: {','.join(_BACKEND_KINDS)}"
            violations.append(Violation(f"{path}.kind", reason))
        if ref.name and not is_dns_subdomain(ref.name):
            violations.append(Violation(f"{path}.name", _IDENTIFIER_REASON))
        if not ref.name and ref.namespace:
            reason = "name is required, when namespace is defined"
            violations.append(Violation(f"{path}.name", reason))
        elif not ref.name and not ref.labels:
            violations.append(Violation(f"{path}.name", "name or labels are required"))
        if (ref.name or ref.namespace) and ref.labels:
            reason = "labels cannot be defined when name is specified"
            violations.append(Violation(f"{path}.labels", reason))
    return violations


def _probe_violations(probes: Probes | None) -> list[Violation]:
    if probes is None:
        return []
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


def claimed_services(fields: Mapping[str, Any]) -> set[str]:
    """The services a Dataplane document claims to serve, read before it is validated: a
    token that does not cover them refuses it first, whatever else is wrong with it."""
    networking = fields.get("networking") or {}
    return {
        str((item.get("tags") or {}).get(SERVICE_TAG, ""))
        for item in networking.get("inbound") or []
        if isinstance(item, Mapping)
    } - {""}
