"""MeshHealthCheck: active health checking of the endpoints of a destination."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from meshfabric.resources.common import (
    HeaderValue,
    IntPercentage,
    OutboundPolicySpec,
    Percentage,
    PositiveDuration,
    PositiveInt,
    Strict,
    TargetRefRules,
    confs,
    is_file_path,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import policy_type


class HeadersToAdd(Strict):
    add: Annotated[list[HeaderValue], Field(max_length=16)] | None = None
    set: Annotated[list[HeaderValue], Field(max_length=16)] | None = None


class HttpCheck(Strict):
    disabled: bool | None = None
    path: str | None = None
    requestHeadersToAdd: HeadersToAdd | None = None
    expectedStatuses: list[int] | None = None


class TcpCheck(Strict):
    disabled: bool | None = None
    send: str | None = None
    receive: list[str] | None = None


class GrpcCheck(Strict):
    disabled: bool | None = None
    serviceName: str | None = None
    authority: str | None = None


class Conf(Strict):
    interval: PositiveDuration | None = None
    timeout: PositiveDuration | None = None
    unhealthyThreshold: PositiveInt | None = None
    healthyThreshold: PositiveInt | None = None
    initialJitter: PositiveDuration | None = None
    intervalJitter: PositiveDuration | None = None
    intervalJitterPercent: IntPercentage | None = None
    healthyPanicThreshold: Percentage | None = None
    failTrafficOnPanic: bool | None = None
    noTrafficInterval: PositiveDuration | None = None
    eventLogPath: str | None = None
    alwaysLogHealthCheckFailures: bool | None = None
    reuseConnection: bool | None = None
    http: HttpCheck | None = None
    tcp: TcpCheck | None = None
    grpc: GrpcCheck | None = None


class Spec(OutboundPolicySpec[Conf]):
    pass


def _conf_violations(spec: Spec) -> list[Violation]:
    violations = []
    for path, _, conf in confs(spec):
        if conf.http is None and conf.tcp is None and conf.grpc is None:
            violations.append(Violation(path, "must have at least one defined: http, tcp, grpc"))
        if conf.eventLogPath is not None and not is_file_path(conf.eventLogPath):
            violations.append(
                Violation(f"{path}.eventLogPath", "must be a valid path when defined")
            )
        http = conf.http
        if http is None:
            continue
        if http.path is not None and not http.path:
            violations.append(Violation(f"{path}.http.path", "must be defined"))
        for index, status in enumerate(http.expectedStatuses or []):
            if not 100 <= status <= 599:
                reason = "must be in inclusive range [100, 599]"
                violations.append(Violation(f"{path}.http.expectedStatuses[{index}]", reason))
    return violations


TYPE = policy_type(
    name="MeshHealthCheck",
    plural="meshhealthchecks",
    short_name="mhc",
    schema=Spec,
    semantic_checks=(
        TargetRefRules(
            top=(
                "Mesh",
                "MeshSubset",
                "MeshGateway",
                "MeshService",
                "MeshServiceSubset",
                "Dataplane",
            ),
            to=("Mesh", "MeshService", "MeshExternalService", "MeshMultiZoneService"),
        ),
        _conf_violations,
    ),
)
