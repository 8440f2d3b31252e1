"""MeshTrace: where the selected proxies send trace spans, how many, and with which tags."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from meshfabric.resources.common import (
    OpenTelemetryTarget,
    Percentage,
    SingleConfPolicySpec,
    Strict,
    TargetRefRules,
    open_telemetry_target_violations,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import policy_type


class Zipkin(Strict):
    url: str
    traceId128bit: bool = False
    apiVersion: Literal["httpJson", "httpProto"] = "httpJson"
    sharedSpanContext: bool = True


class Datadog(Strict):
    url: str
    splitService: bool = False


class Backend(Strict):
    # Checked with the spec: Kuma looks at it only when there is exactly one backend.
    type: str = ""
    zipkin: Zipkin | None = None
    datadog: Datadog | None = None
    openTelemetry: OpenTelemetryTarget | None = None


class Sampling(Strict):
    overall: Percentage | None = None
    client: Percentage | None = None
    random: Percentage | None = None


class HeaderTag(Strict):
    # Kuma leaves it unchecked; an empty header name is refused here (with the spec's checks).
    name: str = ""
    default: str | None = None


class Tag(Strict):
    name: str = ""  # checked with the spec, as Kuma checks it
    literal: str | None = None
    header: HeaderTag | None = None


class Conf(Strict):
    backends: list[Backend] | None = None
    sampling: Sampling | None = None
    tags: list[Tag] | None = None


class Spec(SingleConfPolicySpec[Conf]):
    pass


_BLOCK = {"Zipkin": "zipkin", "Datadog": "datadog", "OpenTelemetry": "openTelemetry"}


def _conf_violations(spec: Spec) -> list[Violation]:
    conf = spec.default
    violations = []
    if conf.backends is None:
        violations.append(Violation("default.backends", "must be defined"))
    elif len(conf.backends) > 1:
        violations.append(Violation("default.backends", "must have zero or one backend defined"))
    elif conf.backends:
        violations += _backend_violations("default.backends[0]", conf.backends[0])
    for index, tag in enumerate(conf.tags or []):
        path = f"default.tags[{index}]"
        if not tag.name:
            violations.append(Violation(f"{path}.name", "must not be empty"))
        if tag.header is not None and not tag.header.name:
            violations.append(Violation(f"{path}.header.name", "must not be empty"))
        if (tag.header is None) == (tag.literal is None):
            reason = "tag must have only one type defined: header, literal"
            violations.append(Violation(path, reason))
    return violations


def _backend_violations(path: str, backend: Backend) -> list[Violation]:
    if backend.type not in _BLOCK:
        return [Violation(f"{path}.type", f"must be one of {', '.join(_BLOCK)}")]
    block = _BLOCK[backend.type]
    path = f"{path}.{block}"
    if backend.datadog is not None and backend.type == "Datadog":
        return [Violation(f"{path}.url", reason) for reason in _datadog_url(backend.datadog.url)]
    if backend.zipkin is not None and backend.type == "Zipkin":
        url = urlsplit(backend.zipkin.url)
        if not backend.zipkin.url:
            return [Violation(f"{path}.url", "must not be empty")]
        if not (url.scheme and url.netloc):
            return [Violation(f"{path}.url", "must be a valid url")]
        return []
    if backend.openTelemetry is not None and backend.type == "OpenTelemetry":
        return open_telemetry_target_violations(path, backend.openTelemetry)
    return [Violation(path, "must be defined")]


def _datadog_url(value: str) -> list[str]:
    """The Datadog agent address: http://host:port and nothing else."""
    try:
        url = urlsplit(value)
        port = url.port
    except ValueError:
        return ["port must be a valid (1-65535)"]
    if not url.scheme or not url.netloc:
        return ["must be a valid url"]
    reasons = [] if url.scheme == "http" else ["scheme must be http"]
    if port is None:
        reasons.append("port must be defined")
    elif not 1 <= port <= 65535:
        reasons.append("port must be a valid (1-65535)")
    extra = {"user": url.username, "path": url.path, "query": url.query, "fragment": url.fragment}
    reasons += [f"{name} must not be defined" for name, part in extra.items() if part]
    return reasons


TYPE = policy_type(
    name="MeshTrace",
    plural="meshtraces",
    short_name="mtr",
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
            gateway_listener_tags=False,
        ),
        _conf_violations,
    ),
)
