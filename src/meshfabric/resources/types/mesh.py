"""Mesh: a logical mesh, its mTLS backends and mesh-wide switches (Kuma's mesh.proto).

The checks follow Kuma 2.14's mesh_validator.go, field paths included (Kuma writes the
dpCert expiration path as `mtls.dpcert.rotation.expiration` and a logging or tracing
backend's conf as `config`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

from meshfabric.resources.common import (
    Duration,
    Strict,
    duration_seconds,
    port_violations,
    selector_violations,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import Affects, KdsFlow, ResourceType, Scope
from meshfabric.resources.names import NameRule

# Kuma's ParseDuration for certificate lifetimes: one number, one unit (1d, 10y, 24h).
_LIFETIME = re.compile(r"^(\d+)(y|w|d|h|m|s|ms)$")
_UNIT_SECONDS = {
    "y": Decimal(365 * 86400),
    "w": Decimal(7 * 86400),
    "d": Decimal(86400),
    "h": Decimal(3600),
    "m": Decimal(60),
    "s": Decimal(1),
    "ms": Decimal("0.001"),
}


def kuma_lifetime_seconds(value: str) -> Decimal | None:
    """A certificate lifetime the way Kuma reads it, or None when Kuma refuses it."""
    if value == "0":
        return Decimal(0)
    match = _LIFETIME.match(value)
    return Decimal(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def lifetime_seconds(value: str) -> Decimal | None:
    """A stored lifetime in seconds; Go durations (1h30m) are still read from older meshes."""
    seconds = kuma_lifetime_seconds(value)
    return seconds if seconds is not None else duration_seconds(value)


class CertRotation(Strict):
    # Checked with the backend, at the path Kuma reports it under.
    expiration: str | None = None


class DpCert(Strict):
    rotation: CertRotation | None = None
    requestTimeout: Duration | None = None


class CertificateAuthorityBackend(Strict):
    name: str
    type: Literal["builtin", "provided", "vault", "acmpca", "certmanager"]
    mode: Literal["STRICT", "PERMISSIVE"] | None = None
    dpCert: DpCert | None = None
    conf: dict[str, Any] | None = None
    rootChain: dict[str, Any] | None = None


class Mtls(Strict):
    enabledBackend: str | None = None
    backends: list[CertificateAuthorityBackend] | None = None
    skipValidation: bool | None = None


class Outbound(Strict):
    passthrough: bool | None = None


class Networking(Strict):
    outbound: Outbound | None = None


class Routing(Strict):
    localityAwareLoadBalancing: bool | None = None
    zoneEgress: bool | None = None
    defaultForbidMeshExternalServiceAccess: bool | None = None


class MeshServices(Strict):
    mode: Literal["Disabled", "Everywhere", "ReachableBackends", "Exclusive"] | None = None


class MeshFields(Strict):
    mtls: Mtls | None = None
    networking: Networking | None = None
    routing: Routing | None = None

    @property
    def zone_egress_required(self) -> bool:
        """Sidecars may leave their zone only through its egress."""
        return bool(self.routing and self.routing.zoneEgress)

    meshServices: MeshServices | None = None
    skipCreatingInitialPolicies: list[str] | None = None
    # Kuma's legacy observability blocks: kept as opaque documents so old YAML applies.
    tracing: dict[str, Any] | None = None
    logging: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    constraints: dict[str, Any] | None = None


def _mtls_violations(mesh: MeshFields) -> list[Violation]:
    mtls = mesh.mtls
    if mtls is None:
        return []
    backends = mtls.backends or []
    violations = []
    if len(backends) > 1:
        violations.append(Violation("mtls.backends", "cannot have more than 1 backends"))
    seen: set[str] = set()
    for index, backend in enumerate(backends):
        if backend.name in seen:
            reason = f'"{backend.name}" name is already used for another backend'
            violations.append(Violation(f"mtls.backends[{index}].name", reason))
        seen.add(backend.name)
        if backend.dpCert is not None:
            rotation = backend.dpCert.rotation
            expiration = (rotation.expiration if rotation else None) or ""
            if kuma_lifetime_seconds(expiration) is None:
                reason = "has to be a valid format"
                violations.append(Violation("mtls.dpcert.rotation.expiration", reason))
    if mtls.enabledBackend and mtls.enabledBackend not in seen:
        reason = "has to be set to one of the backends in the mesh"
        violations.append(Violation("mtls.enabledBackend", reason))
    return violations


def _ca_kept_while_mtls_is_on(stored: MeshFields, new: MeshFields) -> list[Violation]:
    """Proxies trust only the CA they have: Kuma has mTLS turned off before the CA changes."""
    before = stored.mtls.enabledBackend if stored.mtls else None
    after = new.mtls.enabledBackend if new.mtls else None
    if before and after and before != after:
        reason = (
            "Changing CA when mTLS is enabled is forbidden. Disable mTLS first and then "
            "change the CA"
        )
        return [Violation("mtls.enabledBackend", reason)]
    return []


def _zone_egress_needs_mtls(mesh: MeshFields) -> list[Violation]:
    if mesh.zone_egress_required and not (mesh.mtls and mesh.mtls.enabledBackend):
        return [Violation("mtls", "has to be set when zoneEgress enabled")]
    return []


# --- the legacy observability blocks, kept as documents and checked as Kuma checks them ---

BackendCheck = Callable[[str, Mapping[str, Any]], list[Violation]]


def _documents(value: Any) -> list[Mapping[str, Any]]:
    return [item if isinstance(item, Mapping) else {} for item in value or []]


def _named_backends(
    path: str, section: Mapping[str, Any] | None, check: BackendCheck, default_field: str, noun: str
) -> list[Violation]:
    """Kuma's rules shared by logging and tracing: each backend is checked, names are unique
    and the default backend names one of them."""
    if section is None:
        return []
    violations = []
    seen: set[str] = set()
    for index, backend in enumerate(_documents(section.get("backends"))):
        at = f"{path}.backends[{index}]"
        name = str(backend.get("name") or "")
        if not name:
            violations.append(Violation(f"{at}.name", "cannot be empty"))
        violations += check(at, backend)
        if name in seen:
            reason = f'"{name}" name is already used for another backend'
            violations.append(Violation(f"{at}.name", reason))
        seen.add(name)
    default = section.get(default_field)
    if default and default not in seen:
        reason = f"has to be set to one of the {noun} backend in mesh"
        violations.append(Violation(f"{path}.{default_field}", reason))
    return violations


def _conf(backend: Mapping[str, Any]) -> Mapping[str, Any]:
    conf = backend.get("conf")
    return conf if isinstance(conf, Mapping) else {}


def _logging_backend(at: str, backend: Mapping[str, Any]) -> list[Violation]:
    conf = _conf(backend)
    if backend.get("type") == "file":
        if not conf.get("path"):
            return [Violation(f"{at}.config.path", "cannot be empty")]
        return []
    if backend.get("type") == "tcp":
        address = str(conf.get("address") or "")
        if not address:
            return [Violation(f"{at}.config.address", "cannot be empty")]
        if split_host_port(address) is None:
            return [Violation(f"{at}.config.address", "has to be in format of HOST:PORT")]
        return []
    reason = 'unknown backend type. Available backends: "tcp", "file"'
    return [Violation(f"{at}.type", reason)]


def split_host_port(address: str) -> tuple[str, str] | None:
    """Go's net.SplitHostPort, and Kuma's demand that both parts be there: `host:port` or
    `[v6]:port`; None when the address is not of that form."""
    if address.startswith("["):
        host, bracket, port = address[1:].partition("]:")
        valid = bool(bracket) and "]" not in host and ":" not in port
    else:
        host, _, port = address.partition(":")
        valid = ":" not in port and "[" not in address and "]" not in address
    return (host, port) if valid and host and port else None


def _tracing_backend(at: str, backend: Mapping[str, Any]) -> list[Violation]:
    violations = []
    sampling = backend.get("sampling")
    if isinstance(sampling, int | float) and not 0 <= sampling <= 100:
        violations.append(Violation(f"{at}.sampling", "has to be in [0.0 - 100.0] range"))
    conf = _conf(backend)
    if backend.get("type") == "zipkin":
        violations += _zipkin_violations(f"{at}.config", conf)
    elif backend.get("type") == "datadog":
        if not conf.get("address"):
            violations.append(Violation(f"{at}.config.address", "cannot be empty"))
        port = conf.get("port")
        violations += port_violations(f"{at}.config.port", port if isinstance(port, int) else 0)
    else:
        reason = 'unknown backend type. Available backends: "zipkin", "datadog"'
        violations.append(Violation(f"{at}.type", reason))
    return violations


def _zipkin_violations(at: str, conf: Mapping[str, Any]) -> list[Violation]:
    violations = []
    if conf.get("apiVersion", "") not in ("", "httpJsonV1", "httpJson", "httpProto"):
        reason = "has invalid value. Allowed values: httpJsonV1, httpJson, httpProto"
        violations.append(Violation(f"{at}.apiVersion", reason))
    url = str(conf.get("url") or "")
    if not url:
        return [*violations, Violation(f"{at}.url", "cannot be empty")]
    try:
        parsed = urlsplit(url)
        port = parsed.port
    except ValueError:
        return [*violations, Violation(f"{at}.url", "invalid URL")]
    if not parsed.scheme and not url.startswith("/"):
        violations.append(Violation(f"{at}.url", "invalid URL"))
    elif port is None:
        violations.append(Violation(f"{at}.url", "port has to be explicitly specified"))
    return violations


def prometheus_conf_violations(at: str, conf: Mapping[str, Any]) -> list[Violation]:
    """A Prometheus backend's conf, on a Mesh or on one Dataplane (Kuma's
    validatePrometheusConfig): the first problem found is the one reported."""
    tls_mode = (conf.get("tls") or {}).get("mode", "activeMTLSBackend")
    if "skipMTLS" in conf and "tls" in conf:
        agreeing = "disabled" if conf["skipMTLS"] else "activeMTLSBackend"
        if tls_mode != agreeing:
            return [Violation(at, "skipMTLS and tls configuration cannot be defined together")]
    filter_regex = str((conf.get("envoy") or {}).get("filterRegex") or "")
    try:
        re.compile(filter_regex)
    except re.error as exc:
        reason = f"provided regexp isn't correct: {exc}"
        return [Violation(f"{at}.envoy.filterRegex", reason)]
    violations = []
    seen: set[str] = set()
    for index, aggregate in enumerate(_documents(conf.get("aggregate"))):
        name = str(aggregate.get("name") or "")
        if name in seen:
            reason = f"duplicate entry: {name}, values have to be unique"
            violations.append(Violation(f"{at}.aggregate[{index}].name", reason))
        seen.add(name)
    return violations


def _metrics_violations(metrics: Mapping[str, Any] | None) -> list[Violation]:
    if metrics is None:
        return []
    violations = []
    seen: set[str] = set()
    for index, backend in enumerate(_documents(metrics.get("backends"))):
        at = f"metrics.backends[{index}]"
        name = str(backend.get("name") or "")
        if name in seen:
            reason = f'"{name}" name is already used for another backend'
            violations.append(Violation(f"{at}.name", reason))
        if backend.get("type") != "prometheus":
            reason = 'unknown backend type. Available backends: "prometheus"'
            violations.append(Violation(f"{at}.type", reason))
        else:
            violations += prometheus_conf_violations(f"{at}.conf", _conf(backend))
        seen.add(name)
    enabled = metrics.get("enabledBackend")
    if enabled and enabled not in seen:
        reason = "has to be set to one of the backends in the mesh"
        violations.append(Violation("metrics.enabledBackend", reason))
    return violations


def _constraints_violations(constraints: Mapping[str, Any] | None) -> list[Violation]:
    proxy = (constraints or {}).get("dataplaneProxy") or {}
    violations = []
    for kind in ("requirements", "restrictions"):
        for index, item in enumerate(_documents(proxy.get(kind))):
            path = f"constraints.dataplaneProxy.{kind}[{index}].tags"
            tags = item.get("tags") or {}
            violations += selector_violations(path, tags, require_one=True)
    return violations


def _observability(mesh: MeshFields) -> list[Violation]:
    return [
        *_named_backends("logging", mesh.logging, _logging_backend, "defaultBackend", "logging"),
        *_named_backends("tracing", mesh.tracing, _tracing_backend, "defaultBackend", "tracing"),
        *_metrics_violations(mesh.metrics),
        *_constraints_violations(mesh.constraints),
    ]


def _unused_parts(mesh: MeshFields) -> list[str]:
    caveats = [
        f"{block} is Kuma's legacy Mesh block: it is validated and stored, but no proxy acts "
        f"on it; use {policy}"
        for block, policy in (
            ("logging", "MeshAccessLog"),
            ("tracing", "MeshTrace"),
            ("metrics", "MeshMetric"),
        )
        if getattr(mesh, block) is not None
    ]
    mode = mesh.meshServices.mode if mesh.meshServices else None
    if mode in ("ReachableBackends", "Exclusive"):
        caveats.append(
            f"meshServices.mode {mode} only turns on MeshService generation here: proxies "
            "still get every MeshService and kuma.io/service outbound of the mesh"
        )
    return caveats


TYPE = ResourceType(
    name="Mesh",
    plural="meshes",
    scope=Scope.GLOBAL,
    apply_order=10,
    affects=Affects.OWN_MESH,
    schema=MeshFields,
    kds=KdsFlow.GLOBAL_TO_ZONE,
    has_spec=False,
    semantic_checks=(_mtls_violations, _observability, _zone_egress_needs_mtls),
    update_checks=(_ca_kept_while_mtls_is_on,),
    caveats=(_unused_parts,),
    name_rule=NameRule.LABEL,  # joined into SNI, secret and node names: no dots
)
