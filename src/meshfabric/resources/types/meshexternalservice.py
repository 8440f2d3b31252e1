"""MeshExternalService: a destination outside the mesh, reached through the zone egress."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from meshfabric.resources.common import (
    Base64,
    Extension,
    Port,
    Strict,
    extension_violations,
    is_dns_name,
    is_ip,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import KdsFlow, ResourceType, Scope
from meshfabric.resources.names import NameRule

TlsVersion = Literal["TLSAuto", "TLS10", "TLS11", "TLS12", "TLS13"]
_VERSION_ORDER = {"TLS10": 0, "TLS11": 1, "TLS12": 2, "TLS13": 3}


class Match(Strict):
    # Checked with the spec, so that the reason is Kuma's.
    type: str = "HostnameGenerator"
    port: Port
    protocol: Literal["tcp", "grpc", "http", "http2"] = "tcp"


class Endpoint(Strict):
    address: Annotated[str, Field(min_length=1)]
    port: Port
    # Lower is preferred; higher priorities take traffic only when lower ones fail.
    priority: Annotated[int, Field(ge=0, le=128)] | None = None


class DataSource(Strict):
    inline: Base64 | None = None
    inlineString: str | None = None
    secret: str | None = None


class SubjectAltName(Strict):
    type: Literal["Exact", "Prefix"] = "Exact"
    value: str


class Verification(Strict):
    mode: Literal["SkipSAN", "SkipCA", "Secured", "SkipAll"] = "Secured"
    serverName: str | None = None
    subjectAltNames: list[SubjectAltName] | None = None
    caCert: DataSource | None = None
    clientCert: DataSource | None = None
    clientKey: DataSource | None = None


class Version(Strict):
    min: TlsVersion = "TLSAuto"
    max: TlsVersion = "TLSAuto"


class Tls(Strict):
    enabled: bool = False
    version: Version | None = None
    allowRenegotiation: bool = False
    verification: Verification | None = None


class Spec(Strict):
    match: Match
    endpoints: list[Endpoint] | None = None
    tls: Tls | None = None
    extension: Extension | None = None


def _check(spec: Spec) -> list[Violation]:
    violations = []
    if spec.match.type not in ("HostnameGenerator", ""):
        reason = f"unrecognized type '{spec.match.type}' - only 'HostnameGenerator' is supported"
        violations.append(Violation("match.type", reason))
    # An extension owns endpoints and TLS: Kuma leaves them to it.
    if spec.extension is not None:
        return violations + extension_violations("extension", spec.extension)
    for index, endpoint in enumerate(spec.endpoints or []):
        if not is_ip(endpoint.address) and not is_dns_name(endpoint.address):
            reason = "address has to be a valid IP or hostname"
            violations.append(Violation(f"endpoints[{index}].address", reason))
    if spec.tls is not None:
        violations += _tls_violations(spec.tls)
    return violations


def _tls_violations(tls: Tls) -> list[Violation]:
    violations = []
    version = tls.version
    # TLSAuto leaves the bound to Envoy, so only two fixed versions can contradict.
    if (
        version is not None
        and version.min in _VERSION_ORDER
        and version.max in _VERSION_ORDER
        and _VERSION_ORDER[version.min] > _VERSION_ORDER[version.max]
    ):
        violations.append(Violation("tls.version.min", "min version must be lower than max"))
    verification = tls.verification
    if verification is None:
        return violations
    if verification.serverName is not None and not is_dns_name(verification.serverName):
        violations.append(Violation("tls.verification.serverName", "must be a valid DNS name"))
    if verification.clientCert is not None and verification.clientKey is None:
        reason = "must be defined when clientCert is defined"
        violations.append(Violation("tls.verification.clientKey", reason))
    if verification.clientCert is None and verification.clientKey is not None:
        reason = "must be defined when clientKey is defined"
        violations.append(Violation("tls.verification.clientCert", reason))
    return violations


TYPE = ResourceType(
    name="MeshExternalService",
    plural="meshexternalservices",
    scope=Scope.MESH,
    apply_order=50,
    short_name="extsvc",
    schema=Spec,
    kds=KdsFlow.GLOBAL_TO_ZONE | KdsFlow.ZONE_TO_GLOBAL,
    semantic_checks=(_check,),
    name_rule=NameRule.DISPLAY_LABEL,  # part of its hostnames
)
