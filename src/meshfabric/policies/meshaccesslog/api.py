"""MeshAccessLog: which requests the selected proxies log, in which format, to which backend."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from meshfabric.resources.common import (
    MatchedRuleItem,
    OpenTelemetryTarget,
    PolicySpec,
    Strict,
    TargetRefRules,
    confs,
    is_file_path,
    is_ip,
    match_violations,
    open_telemetry_target_violations,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import policy_type


class JsonField(Strict):
    key: str
    value: str


class Format(Strict):
    type: Literal["Plain", "Json"]
    plain: str | None = None
    json_: list[JsonField] | None = Field(default=None, alias="json")
    omitEmptyValues: bool = False


class TcpBackend(Strict):
    format: Format | None = None
    address: Annotated[str, Field(min_length=1)]


class FileBackend(Strict):
    format: Format | None = None
    path: Annotated[str, Field(min_length=1)]


class Attribute(Strict):
    key: Annotated[str, Field(pattern=r"^[a-z]([a-z0-9]|[._][a-z0-9])*$")]
    value: str


class OpenTelemetry(OpenTelemetryTarget):
    attributes: list[Attribute] | None = None
    # Any JSON value: the OpenTelemetry log body, with placeholders in its strings.
    body: Any = None


class Backend(Strict):
    type: Literal["Tcp", "File", "OpenTelemetry"]
    tcp: TcpBackend | None = None
    file: FileBackend | None = None
    openTelemetry: OpenTelemetry | None = None


class Conf(Strict):
    backends: list[Backend] | None = None


class Spec(PolicySpec[Conf]):
    rules: Sequence[MatchedRuleItem[Conf]] | None = None


_BLOCK = {"Tcp": "tcp", "File": "file", "OpenTelemetry": "openTelemetry"}
# The placeholders the control plane substitutes: Kuma's, and KUMA_ZONE. Envoy would refuse
# any other %KUMA_...% as an unknown command, so a policy naming one is refused here.
PLACEHOLDERS = (
    "KUMA_MESH",
    "KUMA_ZONE",
    "KUMA_TRAFFIC_DIRECTION",
    "KUMA_SOURCE_SERVICE",
    "KUMA_DESTINATION_SERVICE",
    "KUMA_SOURCE_ADDRESS",
    "KUMA_SOURCE_ADDRESS_WITHOUT_PORT",
)
PLACEHOLDER = re.compile(r"%(KUMA_[A-Z_]+)%")


def _placeholder_violations(path: str, text: str) -> list[Violation]:
    unknown = [name for name in PLACEHOLDER.findall(text) if name not in PLACEHOLDERS]
    known = ", ".join(f"%{name}%" for name in PLACEHOLDERS)
    return [Violation(path, f"unknown placeholder %{name}% (known: {known})") for name in unknown]


def _conf_violations(spec: Spec) -> list[Violation]:
    violations = []
    for path, item, conf in confs(spec):
        for index, match in enumerate(getattr(item, "matches", None) or []):
            violations += match_violations(
                f"{path.removesuffix('.default')}.matches[{index}]", match
            )
        if conf.backends is None:
            violations.append(Violation(f"{path}.backends", "must be defined"))
            continue
        for index, backend in enumerate(conf.backends):
            violations += _backend_violations(f"{path}.backends[{index}]", backend)
    return violations


def _backend_violations(path: str, backend: Backend) -> list[Violation]:
    block = _BLOCK[backend.type]
    settings = getattr(backend, block)
    if settings is None:
        return [Violation(f"{path}.{block}", "must be defined")]
    if isinstance(settings, OpenTelemetry):
        violations = open_telemetry_target_violations(f"{path}.{block}", settings)
        for index, attribute in enumerate(settings.attributes or []):
            where = f"{path}.{block}.attributes[{index}].value"
            violations += _placeholder_violations(where, attribute.value)
        return violations
    violations = []
    if settings.format is not None:
        violations += _format_violations(f"{path}.{block}.format", settings.format)
    if isinstance(settings, FileBackend) and not is_file_path(settings.path):
        violations.append(Violation(f"{path}.file.path", "file backend requires a valid path"))
    if isinstance(settings, TcpBackend) and not _is_url(settings.address):
        violations.append(Violation(f"{path}.tcp.address", "tcp backend requires valid address"))
    return violations


# A host (IP or RFC 1123 name), an optional port, and optionally a scheme in front.
_URL = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://)?(?P<host>\[[0-9a-fA-F:.]+\]|[^:/\[\]]+)(?::(?P<port>\d+))?/?$"
)
_HOST_LABEL = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$")


def _is_url(address: str) -> bool:
    found = _URL.match(address)
    if found is None:
        return False
    host, port = found["host"].strip("[]"), found["port"]
    if port is not None and not 0 < int(port) <= 65535:
        return False
    return is_ip(host) or all(_HOST_LABEL.match(label) for label in host.split("."))


def _format_violations(path: str, format_: Format) -> list[Violation]:
    if format_.type == "Plain":
        if format_.plain is None:
            return [Violation(f"{path}.plain", "must be defined")]
        if not format_.plain:
            return [Violation(f"{path}.plain", "must not be empty")]
        return _placeholder_violations(f"{path}.plain", format_.plain)
    if format_.json_ is None:
        return [Violation(f"{path}.json", "must be defined")]
    if not format_.json_:
        return [Violation(f"{path}.json", "must not be empty")]
    violations = []
    for index, field in enumerate(format_.json_):
        if not field.key:
            violations.append(Violation(f"{path}.json[{index}].key", "key cannot be empty"))
        if not field.value:
            violations.append(Violation(f"{path}.json[{index}].value", "value cannot be empty"))
        if not _is_json_pair(field):
            violations.append(Violation(f"{path}.json[{index}]", "is not a valid JSON object"))
        violations += _placeholder_violations(f"{path}.json[{index}].value", field.value)
    return violations


def _is_json_pair(field: JsonField) -> bool:
    """Kuma's rule: the key and value, written between quotes as they are, must be JSON."""
    try:
        json.loads(f'{{"{field.key}": "{field.value}"}}')
    except ValueError:
        return False
    return True


TYPE = policy_type(
    name="MeshAccessLog",
    plural="meshaccesslogs",
    short_name="mal",
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
            from_=("Mesh",),
            to=(
                "Mesh",
                "MeshService",
                "MeshExternalService",
                "MeshMultiZoneService",
                "MeshHTTPRoute",
            ),
            to_by_top={"MeshGateway": ("Mesh",)},
            needs_section=True,
        ),
        _conf_violations,
    ),
)
