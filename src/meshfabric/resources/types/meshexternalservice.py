"""MeshExternalService: a destination outside the mesh, reached through the zone egress."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from meshfabric.resources.common import (
    Base64,
    Extension,
    Strict,
    UInt32,
    extension_violations,
    is_dns_name,
    is_ip,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import Affects, KdsFlow, ResourceType, Scope
from meshfabric.resources.names import NameRule

# Kuma checks these after decoding, reporting every problem at once with its own reasons;
# so are they here, and the fields below take any string or port number.
_MATCH_PROTOCOLS = ("tcp", "grpc", "http", "http2")
_TLS_VERSIONS = ("TLSAuto", "TLS10", "TLS11", "TLS12", "TLS13")
_VERIFICATION_MODES = ("SkipSAN", "SkipCA", "SkipAll", "Secured")
_SAN_TYPES = ("Prefix", "Exact")


class Match(Strict):
    type: str = "HostnameGenerator"
    port: UInt32 = 0
    protocol: str = "tcp"


class Endpoint(Strict):
    address: str = ""
    port: UInt32 = 0
    # Lower is preferred; higher priorities take traffic only when lower ones fail.
    priority: Annotated[int, Field(ge=0, le=128)] | None = None


class DataSource(Strict):
    inline: Base64 | None = None
    inlineString: str | None = None
    secret: str | None = None


class SubjectAltName(Strict):
    type: str = "Exact"
    value: str


class Verification(Strict):
    mode: str = "Secured"
    serverName: str | None = None
    subjectAltNames: list[SubjectAltName] | None = None
    caCert: DataSource | None = None
    clientCert: DataSource | None = None
    clientKey: DataSource | None = None


class Version(Strict):
    min: str = "TLSAuto"
    max: str = "TLSAuto"


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


def _one_of(path: str, value: str, allowed: tuple[str, ...]) -> list[Violation]:
    if value in allowed:
        return []
    name = path.rsplit(".", 1)[-1]
    listed = ", ".join(f'"{item}"' for item in allowed)
    return [Violation(path, f'"{name}" must be one of [{listed}]')]


def _port(path: str, port: int) -> list[Violation]:
    return [] if 1 <= port <= 65535 else [Violation(path, "port must be a valid (1-65535)")]


def _check(spec: Spec) -> list[Violation]:
    violations = []
    if spec.match.type not in ("HostnameGenerator", ""):
        reason = f"unrecognized type '{spec.match.type}' - only 'HostnameGenerator' is supported"
        violations.append(Violation("match.type", reason))
    violations += _port("match.port", spec.match.port)
    violations += _one_of("match.protocol", spec.match.protocol, _MATCH_PROTOCOLS)
    # An extension owns endpoints and TLS: Kuma leaves them to it.
    if spec.extension is not None:
        return violations + extension_violations("extension", spec.extension)
    for index, endpoint in enumerate(spec.endpoints or []):
        if is_ip(endpoint.address) or is_dns_name(endpoint.address):
            violations += _port(f"endpoints[{index}].port", endpoint.port)
        else:
            reason = "address has to be a valid IP or hostname"
            violations.append(Violation(f"endpoints[{index}].address", reason))
    if spec.tls is not None:
        violations += _tls_violations(spec.tls)
    return violations


def _tls_violations(tls: Tls) -> list[Violation]:
    violations = []
    if tls.version is not None:
        violations += _version_violations(tls.version)
    verification = tls.verification
    if verification is None:
        return violations
    path = "tls.verification"
    if verification.serverName is not None and not is_dns_name(verification.serverName):
        violations.append(Violation(f"{path}.serverName", "must be a valid DNS name"))
    violations += _one_of(f"{path}.mode", verification.mode, _VERIFICATION_MODES)
    for index, san in enumerate(verification.subjectAltNames or []):
        violations += _one_of(f"{path}.subjectAltNames[{index}].type", san.type, _SAN_TYPES)
    if verification.clientCert is not None and verification.clientKey is None:
        reason = "must be defined when clientCert is defined"
        violations.append(Violation(f"{path}.clientKey", reason))
    if verification.clientCert is None and verification.clientKey is not None:
        reason = "must be defined when clientKey is defined"
        violations.append(Violation(f"{path}.clientCert", reason))
    return violations


def _version_violations(version: Version) -> list[Violation]:
    violations = [
        *_one_of("tls.version.min", version.min, _TLS_VERSIONS),
        *_one_of("tls.version.max", version.max, _TLS_VERSIONS),
    ]
    # TLSAuto leaves the bound to Envoy, so only two fixed versions can contradict.
    fixed = _TLS_VERSIONS[1:]
    bounded = version.min in fixed and version.max in fixed
    if bounded and fixed.index(version.min) > fixed.index(version.max):
        violations.append(Violation("tls.version.min", "min version must be lower than max"))
    return violations


TYPE = ResourceType(
    name="MeshExternalService",
    plural="meshexternalservices",
    scope=Scope.MESH,
    apply_order=50,
    short_name="extsvc",
    schema=Spec,
    kds=KdsFlow.GLOBAL_TO_ZONE | KdsFlow.ZONE_TO_GLOBAL,
    # A destination of every sidecar of its mesh, and a route of its zone's egress.
    affects=Affects.EVERY_PROXY,
    semantic_checks=(_check,),
    name_rule=NameRule.DISPLAY_LABEL,  # part of its hostnames
)
