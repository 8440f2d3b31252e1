"""MeshRetry: when and how often failed requests to a destination are tried again."""

from __future__ import annotations

from http import HTTPStatus
from typing import Literal

from meshfabric.resources.common import (
    Duration,
    HeaderMatch,
    Labels,
    OutboundPolicySpec,
    PositiveDuration,
    Strict,
    TargetRefRules,
    UInt32,
    confs,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import policy_type

# Envoy's retry conditions; any HTTP status code (`"503"`) is accepted as well.
_HTTP_RETRY_ON = {
    "5xx",
    "GatewayError",
    "Reset",
    "Retriable4xx",
    "ConnectFailure",
    "EnvoyRatelimited",
    "RefusedStream",
    "Http3PostConnectFailure",
    "HttpMethodConnect",
    "HttpMethodDelete",
    "HttpMethodGet",
    "HttpMethodHead",
    "HttpMethodOptions",
    "HttpMethodPatch",
    "HttpMethodPost",
    "HttpMethodPut",
    "HttpMethodTrace",
}
_STATUS_CODES = {status.value for status in HTTPStatus}


class Tcp(Strict):
    maxConnectAttempt: UInt32 | None = None


class BackOff(Strict):
    baseInterval: Duration | None = None
    maxInterval: Duration | None = None


class ResetHeader(Strict):
    # Checked with the spec, so that its violation is reported where Kuma reports it.
    name: str
    format: Literal["Seconds", "UnixTimestamp"]


class RateLimitedBackOff(Strict):
    resetHeaders: list[ResetHeader] | None = None
    maxInterval: PositiveDuration | None = None


_PREDICATES = ("OmitPreviousHosts", "OmitHostsWithTags", "OmitPreviousPriorities")
_GRPC_RETRY_ON = ("Canceled", "DeadlineExceeded", "Internal", "ResourceExhausted", "Unavailable")


class Predicate(Strict):
    predicate: str  # one of _PREDICATES, checked with the spec as Kuma does
    tags: Labels | None = None
    updateFrequency: int = 2


class _Retries(Strict):
    numRetries: UInt32 | None = None
    perTryTimeout: Duration | None = None
    backOff: BackOff | None = None
    rateLimitedBackOff: RateLimitedBackOff | None = None


class Http(_Retries):
    # Status codes may be written as numbers (`- 503`), as Kuma reads them.
    retryOn: list[str | int] | None = None
    retriableResponseHeaders: list[HeaderMatch] | None = None
    retriableRequestHeaders: list[HeaderMatch] | None = None
    hostSelection: list[Predicate] | None = None
    hostSelectionMaxAttempts: int | None = None


class Grpc(_Retries):
    retryOn: list[str | int] | None = None  # each one of _GRPC_RETRY_ON, checked with the spec


class Conf(Strict):
    tcp: Tcp | None = None
    http: Http | None = None
    grpc: Grpc | None = None


class Spec(OutboundPolicySpec[Conf]):
    pass


def _conf_violations(spec: Spec) -> list[Violation]:
    violations = []
    for default_path, _, conf in confs(spec):
        path = f"{default_path}.conf"  # Kuma's spelling: its validator roots `default` at "conf"
        if conf.tcp is None and conf.http is None and conf.grpc is None:
            reason = "at least one of the 'tcp', 'http', 'grpc' must be specified"
            violations.append(Violation(path, reason))
        if conf.tcp is not None:
            if conf.tcp.maxConnectAttempt is None:
                violations.append(Violation(f"{path}.tcp", "must not be empty"))
            elif conf.tcp.maxConnectAttempt == 0:
                violations.append(
                    Violation(f"{path}.tcp.maxConnectAttempt", "must be greater than 0")
                )
        for name, retries in (("http", conf.http), ("grpc", conf.grpc)):
            if retries is not None:
                violations += _retries_violations(f"{path}.{name}", retries)
        if conf.http is not None:
            violations += _http_violations(f"{path}.http", conf.http)
        if conf.grpc is not None:
            violations += [
                Violation(f"{path}.grpc.retryOn[{index}]", f"unknown item '{condition}'")
                for index, condition in enumerate(conf.grpc.retryOn or [])
                if str(condition) not in _GRPC_RETRY_ON
            ]
    return violations


def _retries_violations(path: str, retries: _Retries) -> list[Violation]:
    if all(getattr(retries, name) is None for name in type(retries).model_fields):
        return [Violation(path, "must not be empty")]
    violations = []
    backoff = retries.backOff
    if backoff is not None and backoff.baseInterval is None and backoff.maxInterval is None:
        violations.append(Violation(f"{path}.backOff", "must not be empty"))
    limited = retries.rateLimitedBackOff
    if limited is not None and limited.resetHeaders is None:
        violations.append(Violation(f"{path}.rateLimitedBackOff.resetHeaders", "must be defined"))
    for index, header in enumerate(limited.resetHeaders or [] if limited else []):
        if not header.name:
            item = f"{path}.rateLimitedBackOff.resetHeaders[{index}].name"
            violations.append(Violation(item, "must be defined"))
    return violations


def _http_violations(path: str, http: Http) -> list[Violation]:
    violations = []
    for index, condition in enumerate(http.retryOn or []):
        if condition not in _HTTP_RETRY_ON and not _is_status_code(str(condition)):
            violations.append(Violation(f"{path}.retryOn[{index}]", f"unknown item '{condition}'"))
    priorities_seen = False
    for index, predicate in enumerate(http.hostSelection or []):
        item = f"{path}.hostSelection[{index}]"
        if predicate.predicate not in _PREDICATES:
            reason = f"unknown predicate type '{predicate.predicate}'"
            violations.append(Violation(f"{item}.predicate", reason))
        if predicate.predicate == "OmitHostsWithTags" and predicate.tags is None:
            violations.append(Violation(f"{item}.tags", "must be defined"))
        if predicate.predicate == "OmitPreviousPriorities":
            if priorities_seen:
                reason = "OmitPreviousPriorities must only be specified once"
                violations.append(Violation(f"{item}.predicate", reason))
            if predicate.updateFrequency <= 0:
                reason = "must be defined and greater than zero"
                violations.append(Violation(f"{item}.updateFrequency", reason))
            priorities_seen = True
    return violations


def _is_status_code(value: str) -> bool:
    return value.isdigit() and int(value) in _STATUS_CODES


TYPE = policy_type(
    name="MeshRetry",
    plural="meshretries",
    short_name="mr",
    schema=Spec,
    semantic_checks=(
        TargetRefRules(
            top=(
                "Mesh",
                "MeshSubset",
                "MeshGateway",
                "MeshService",
                "MeshServiceSubset",
                "MeshHTTPRoute",
                "Dataplane",
            ),
            to=(
                "Mesh",
                "MeshService",
                "MeshExternalService",
                "MeshMultiZoneService",
                "MeshHTTPRoute",
            ),
            to_by_top=dict.fromkeys(
                ("MeshGateway", "MeshHTTPRoute"), ("Mesh", "MeshExternalService")
            ),
        ),
        _conf_violations,
    ),
)
