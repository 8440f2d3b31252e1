"""MeshMetric: which proxy and application metrics are collected, and where they go."""

from __future__ import annotations

import dataclasses
import re
from typing import Literal

from meshfabric.resources.common import (
    OpenTelemetryTarget,
    Port,
    PositiveDuration,
    SingleConfPolicySpec,
    Strict,
    TargetRefRules,
    duration_seconds,
    open_telemetry_target_violations,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import policy_type


class Profile(Strict):
    name: Literal["All", "Basic", "None"]


class Selector(Strict):
    type: Literal["Prefix", "Regex", "Exact", "Contains"]
    match: str


class Profiles(Strict):
    appendProfiles: list[Profile] | None = None
    include: list[Selector] | None = None
    exclude: list[Selector] | None = None


class Sidecar(Strict):
    profiles: Profiles | None = None
    includeUnused: bool | None = None


class Application(Strict):
    name: str | None = None
    path: str = "/metrics"
    address: str | None = None
    port: Port


class PrometheusTls(Strict):
    mode: Literal["Disabled", "ProvidedTLS", "ActiveMTLSBackend"] = "Disabled"


class Prometheus(Strict):
    clientId: str | None = None
    port: Port = 5670
    path: str = "/metrics"
    tls: PrometheusTls | None = None


DEFAULT_REFRESH_INTERVAL = "1m"  # Kuma's


class OpenTelemetry(OpenTelemetryTarget):
    refreshInterval: PositiveDuration | None = None

    @property
    def refresh_seconds(self) -> float:
        """How often the proxy pushes its metrics."""
        return float(duration_seconds(self.refreshInterval or DEFAULT_REFRESH_INTERVAL) or 0)


class Backend(Strict):
    type: Literal["Prometheus", "OpenTelemetry"]
    prometheus: Prometheus | None = None
    openTelemetry: OpenTelemetry | None = None


class Conf(Strict):
    sidecar: Sidecar | None = None
    applications: list[Application] | None = None
    backends: list[Backend] | None = None


class Spec(SingleConfPolicySpec[Conf]):
    pass


def prometheus_backends(conf: Conf) -> list[Prometheus]:
    """The Prometheus backends, one per port (the first that names a port has it)."""
    by_port: dict[int, Prometheus] = {}
    for backend in conf.backends or []:
        if backend.type == "Prometheus" and backend.prometheus is not None:
            by_port.setdefault(backend.prometheus.port, backend.prometheus)
    return list(by_port.values())


def open_telemetry_backends(conf: Conf) -> list[OpenTelemetry]:
    """The OpenTelemetry backends given by an endpoint (a backendRef is not followed yet)."""
    return [
        backend.openTelemetry
        for backend in conf.backends or []
        if backend.type == "OpenTelemetry"
        and backend.openTelemetry is not None
        and backend.openTelemetry.endpoint
    ]


def application_path(metrics_path: str, application: Application) -> str:
    """Where the proxy's metrics port serves an application's own metrics."""
    return f"{metrics_path.rstrip('/')}/applications/{application_name(application)}"


def application_name(application: Application) -> str:
    return application.name or str(application.port)


def application_address(application: Application) -> str:
    """Where the proxy reaches it: its `address`, or loopback (beside the proxy)."""
    return application.address or "127.0.0.1"


def _conf_violations(spec: Spec) -> list[Violation]:
    violations = []
    profiles = spec.default.sidecar.profiles if spec.default.sidecar else None
    for section in ("include", "exclude"):
        for index, selector in enumerate(getattr(profiles, section, None) or []):
            if selector.type == "Regex" and not _compiles(selector.match):
                path = f"default.sidecar.profiles.{section}[{index}].match"
                violations.append(Violation(path, "invalid regex"))
    for index, backend in enumerate(spec.default.backends or []):
        path = f"default.backends.backend[{index}]"  # Kuma's spelling
        if backend.type == "Prometheus" and backend.prometheus is None:
            violations.append(Violation(f"{path}.prometheus", "must be defined"))
        if backend.type != "OpenTelemetry":
            continue
        otel = backend.openTelemetry
        if otel is None:
            violations.append(Violation(f"{path}.openTelemetry", "must be defined"))
            continue
        otel_violations = open_telemetry_target_violations(f"{path}.openTelemetry", otel)
        # MeshMetric needed host:port before backend references existed, and still does.
        if not otel_violations and otel.endpoint and not _is_host_port(otel.endpoint):
            reason = "must be in host:port format"
            otel_violations.append(Violation(f"{path}.openTelemetry.endpoint", reason))
        violations += otel_violations
    return violations


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _is_host_port(endpoint: str) -> bool:
    host, colon, port = endpoint.rpartition(":")
    return bool(colon) and port.isdigit() and (not host.startswith("[") or host.endswith("]"))


def _unused_parts(spec: Spec) -> list[str]:
    """What a valid MeshMetric may hold that no proxy acts on yet."""
    caveats = []
    for index, backend in enumerate(spec.default.backends or []):
        path = f"default.backends[{index}]"
        otel = backend.openTelemetry
        if backend.type == "OpenTelemetry" and otel is not None and otel.backendRef is not None:
            caveats.append(
                f"{path}.openTelemetry.backendRef: stored, but no proxy follows it yet "
                "(give an endpoint)"
            )
        tls = backend.prometheus.tls if backend.prometheus else None
        if tls is not None and tls.mode != "Disabled":
            caveats.append(
                f"{path}.prometheus.tls.mode {tls.mode}: the metrics port serves plain HTTP"
            )
    return caveats


TYPE = policy_type(
    name="MeshMetric",
    plural="meshmetrics",
    short_name="mm",
    schema=Spec,
    semantic_checks=(
        TargetRefRules(
            top=(
                "Mesh",
                "MeshSubset",
                "MeshService",
                "MeshServiceSubset",
                "MeshGateway",
                "Dataplane",
            ),
        ),
        _conf_violations,
    ),
)
TYPE = dataclasses.replace(TYPE, caveats=(_unused_parts,))
