"""Mesh: a logical mesh, its mTLS backends and mesh-wide switches (Kuma's mesh.proto)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator

from meshfabric.resources.common import Duration, Strict, duration_seconds
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import Affects, KdsFlow, ResourceType, Scope

_DAYS_OR_YEARS = re.compile(r"^\d+[dy]$")
_DAY_OR_YEAR_SECONDS = {"d": Decimal(86400), "y": Decimal(365 * 86400)}


def lifetime_seconds(value: str) -> Decimal | None:
    """A certificate lifetime in seconds: days or years (1d, 10y) or any Go duration."""
    if _DAYS_OR_YEARS.match(value):
        return Decimal(value[:-1]) * _DAY_OR_YEAR_SECONDS[value[-1]]
    return duration_seconds(value)


def _check_lifetime(value: str) -> str:
    if lifetime_seconds(value) is None:
        raise ValueError(f'"{value}" is not a duration (examples: 1d, 10y, 24h, 90m)')
    return value


# Certificate lifetimes also come in days and years, as Kuma's docs write them (1d, 10y).
CertLifetime = Annotated[str, AfterValidator(_check_lifetime)]


class CertRotation(Strict):
    expiration: CertLifetime | None = None


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
    meshServices: MeshServices | None = None
    skipCreatingInitialPolicies: list[str] | None = None
    # Kuma's legacy observability blocks: kept as opaque documents so old YAML applies.
    tracing: dict[str, Any] | None = None
    logging: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    constraints: dict[str, Any] | None = None


def _enabled_backend_exists(mesh: MeshFields) -> list[Violation]:
    mtls = mesh.mtls
    if mtls is None or not mtls.enabledBackend:
        return []
    names = [backend.name for backend in mtls.backends or []]
    if mtls.enabledBackend in names:
        return []
    return [Violation("mtls.enabledBackend", "has to be set to one of the backends in the mesh")]


def _backend_names_unique(mesh: MeshFields) -> list[Violation]:
    seen: set[str] = set()
    violations = []
    for index, backend in enumerate((mesh.mtls.backends if mesh.mtls else None) or []):
        if backend.name in seen:
            violations.append(
                Violation(f"mtls.backends[{index}].name", f'"{backend.name}" is already used')
            )
        seen.add(backend.name)
    return violations


TYPE = ResourceType(
    name="Mesh",
    plural="meshes",
    scope=Scope.GLOBAL,
    apply_order=10,
    affects=Affects.OWN_MESH,
    schema=MeshFields,
    kds=KdsFlow.GLOBAL_TO_ZONE,
    has_spec=False,
    semantic_checks=(_enabled_backend_exists, _backend_names_unique),
)
