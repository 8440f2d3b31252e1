"""Schema building blocks: strict models, durations, targetRef and the policy shapes."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, AliasChoices, AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_snake

from meshfabric.dataplane_api.mesh import PROTOCOL_TAG as PROTOCOL_TAG
from meshfabric.dataplane_api.mesh import SERVICE_TAG as SERVICE_TAG
from meshfabric.resources.errors import Violation


class Strict(BaseModel):
    """Unknown fields are errors and nothing is coerced: a typo or a quoted number must not
    be silently accepted, as Kuma's JSON decoding would not accept it either."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Proto(Strict):
    """A message from Kuma's protobufs: protobuf's JSON mapping accepts the camelCase name
    and the original snake_case field name alike (`transparentProxying`, `transparent_proxying`)."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(
            validation_alias=lambda name: AliasChoices(name, to_snake(name))
        )
    )


# --- scalars -------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNIT_SECONDS = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "μs": Decimal("1e-6"),
    "ms": Decimal("0.001"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}


def duration_seconds(value: str) -> Decimal | None:
    """Go's time.ParseDuration, which Kuma uses for every duration: `1m30s`, `500ms`, `0`."""
    if value == "0":
        return Decimal(0)
    parts = list(_DURATION_PART.finditer(value))
    if not parts or "".join(part.group(0) for part in parts) != value:
        return None
    return sum(
        (Decimal(part.group(1)) * _DURATION_UNIT_SECONDS[part.group(2)] for part in parts),
        Decimal(0),
    )


def _check_duration(value: str) -> str:
    if duration_seconds(value) is None:
        raise ValueError(f'"{value}" is not a duration (examples: 500ms, 10s, 1m30s)')
    return value


def _check_positive_duration(value: str) -> str:
    if duration_seconds(value) == 0:
        raise ValueError("must be greater than zero when defined")
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
# Timeouts and intervals where zero would mean "never": Kuma rejects them.
PositiveDuration = Annotated[Duration, AfterValidator(_check_positive_duration)]

Name = Annotated[
    str, Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$")
]
Port = Annotated[int, Field(ge=1, le=65535)]
Labels = dict[str, str]
# Kubernetes' IntOrString: YAML authors write `80` or `"http"`, `50` or `"99.5"`.
IntOrString = Annotated[int | str, Field(union_mode="left_to_right")]


def decimal_of(value: int | str) -> Decimal | None:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _check_percentage(value: int | str) -> int | str:
    number = decimal_of(value)
    if number is None:
        raise ValueError("string must be a valid number")
    if not 0 <= number <= 100:
        raise ValueError("must be in inclusive range [0.0, 100.0]")
    return value


Percentage = Annotated[IntOrString, AfterValidator(_check_percentage)]


def _check_positive(value: int) -> int:
    if value <= 0:
        raise ValueError("must be greater than zero when defined")
    return value


def _check_uint_percentage(value: int) -> int:
    if not 0 <= value <= 100:
        raise ValueError("must be in inclusive range [0, 100]")
    return value


# Counts and thresholds where zero would switch the feature off by accident.
PositiveInt = Annotated[int, AfterValidator(_check_positive)]
IntPercentage = Annotated[int, AfterValidator(_check_uint_percentage)]
Protocol = Literal["tcp", "http", "http2", "grpc", "kafka"]


def _check_base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64 encoded") from None
    return value


Base64 = Annotated[str, AfterValidator(_check_base64)]

UInt32 = Annotated[int, Field(ge=0, le=2**32 - 1)]

_DNS_NAME = re.compile(
    r"^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62}(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$"
)


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_dns_name(value: str) -> bool:
    return 0 < len(value) <= 255 and bool(_DNS_NAME.match(value)) and not is_ip(value)


# govalidator's IsFilePath, which Kuma uses: an absolute Unix or Windows path.
_UNIX_PATH = re.compile(r"^(/[^/\x00]*)+/?$")
_WINDOWS_PATH = re.compile(r'^[a-zA-Z]:\\(?:[^\\/:*?"<>|\r\n]+\\)*[^\\/:*?"<>|\r\n]*$')


def is_file_path(value: str) -> bool:
    return bool(_UNIX_PATH.match(value) or _WINDOWS_PATH.match(value))


def port_violations(path: str, port: int) -> list[Violation]:
    """Protobuf ports default to 0 when left out: Kuma reports both cases the same way."""
    if 1 <= port <= 65535:
        return []
    return [Violation(path, "port must be in the range [1, 65535]")]


def address_violations(path: str, address: str) -> list[Violation]:
    """The address a proxy listens on: a concrete IP or a DNS name."""
    if not address:
        return [Violation(path, "address can't be empty")]
    if address in ("0.0.0.0", "::"):
        return [Violation(path, "must not be 0.0.0.0 or ::")]
    if not is_ip(address) and not is_dns_name(address):
        return [Violation(path, "address has to be valid IP address or domain name")]
    return []


_TAG_NAME = re.compile(r"^[a-zA-Z0-9.\-_:/]*$")
_TAG_VALUE = re.compile(r"^[a-zA-Z0-9.\-_:]*$")
_SELECTOR_VALUE = re.compile(r"^([a-zA-Z0-9.\-_:/]*|\*)$")
_TAG_VALUE_REASON = (
    "tag value must consist of alphanumeric characters, dots, dashes and underscores"
)
_SELECTOR_VALUE_REASON = (
    "tag value must consist of alphanumeric characters, dots, dashes, slashes and underscores "
    'or be "*"'
)


def tag_violations(path: str, tags: Mapping[str, str], require_service: bool) -> list[Violation]:
    """Kuma's tag rules; a tag's own path is `tags["kuma.io/service"]`, as Kuma writes it."""
    violations = _key_value_violations(path, tags, _TAG_VALUE, _TAG_VALUE_REASON)
    if require_service and SERVICE_TAG not in tags:
        violations.append(Violation(path, f'mandatory tag "{SERVICE_TAG}" is missing'))
    return violations


def selector_violations(path: str, tags: Mapping[str, str], require_one: bool) -> list[Violation]:
    """Kuma's rules for tags that select (values may hold slashes or be "*")."""
    violations = []
    if require_one and not tags:
        violations.append(Violation(path, "must have at least one tag"))
    return violations + _key_value_violations(path, tags, _SELECTOR_VALUE, _SELECTOR_VALUE_REASON)


def _key_value_violations(
    path: str, tags: Mapping[str, str], value_pattern: re.Pattern[str], value_reason: str
) -> list[Violation]:
    violations = []
    for key in sorted(tags):  # Kuma reports tags in key order
        value = tags[key]
        key_path = f'{path}["{key}"]'
        if not key:
            violations.append(Violation(path, "tag name must be non-empty"))
        elif not _TAG_NAME.match(key):
            reason = (
                "tag name must consist of alphanumeric characters, dots, dashes, slashes "
                "and underscores"
            )
            violations.append(Violation(key_path, reason))
        if not value:
            violations.append(Violation(key_path, "tag value must be non-empty"))
        elif not value_pattern.match(value):
            violations.append(Violation(key_path, value_reason))
    return violations


class EnvoyAdmin(Proto):
    port: UInt32 = 0


def overlaps_loopback(address: str) -> bool:
    """Whether an address Envoy binds takes in 127.0.0.1, where its admin port listens."""
    return address in ("127.0.0.1", "0.0.0.0", "::")


def admin_port_violations(admin: EnvoyAdmin | None, *sockets: tuple[str, int]) -> list[Violation]:
    """A zone proxy's admin port may not be the port it serves on loopback (Kuma's
    UsesInboundInterface)."""
    if admin is None:
        return []
    if any(admin.port == port and overlaps_loopback(address) for address, port in sockets):
        return [Violation("networking.admin.port", "must differ from port")]
    return []


# --- shapes from Kuma's api/common -----------------------------------------------------------

TargetRefKind = Literal[
    "Mesh",
    "MeshSubset",
    "MeshGateway",
    "MeshService",
    "MeshServiceSubset",
    "MeshExternalService",
    "MeshMultiZoneService",
    "MeshHTTPRoute",
    "Dataplane",
]


class TargetRef(Strict):
    kind: TargetRefKind
    name: str | None = None
    namespace: str | None = None
    mesh: str | None = None
    labels: Labels | None = None
    tags: Labels | None = None
    sectionName: str | None = None
    proxyTypes: list[Literal["Sidecar", "Gateway"]] | None = None


@typing.runtime_checkable
class Targeted(typing.Protocol):
    """What every policy's schema has: the top-level targetRef (absent: the whole mesh)."""

    @property
    def targetRef(self) -> TargetRef | None: ...


class SpiffeIDMatch(Strict):
    type: Literal["Exact", "Prefix"]
    value: str


class SNIMatch(Strict):
    # Both checked with the spec (match_violations), as Kuma checks them.
    type: str = ""
    value: str = ""


class Match(Strict):
    """Which inbound traffic a rule applies to, by client identity or requested server name."""

    spiffeID: SpiffeIDMatch | None = None
    sni: SNIMatch | None = None


_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SPIFFE_ID = re.compile(r"^spiffe://[a-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


def is_dns_subdomain(value: str) -> bool:
    """Kubernetes' DNS-1123 subdomain: lower case labels joined by dots, 253 characters at most."""
    return len(value) <= 253 and bool(_DNS_SUBDOMAIN.match(value))


def match_violations(path: str, match: Match) -> list[Violation]:
    if match.spiffeID is None and match.sni is None:
        return [Violation(path, "must specify at least one of 'spiffeID' or 'sni'")]
    violations = []
    if match.spiffeID is not None and not _SPIFFE_ID.match(match.spiffeID.value):
        violations.append(Violation(f"{path}.spiffeID", "must be a valid Spiffe ID"))
    if match.sni is not None:
        violations += _sni_violations(f"{path}.sni", match.sni)
    return violations


def _sni_violations(path: str, sni: SNIMatch) -> list[Violation]:
    violations = []
    if not sni.type:
        violations.append(Violation(f"{path}.type", "must be set"))
    elif sni.type != "Exact":
        reason = f'unrecognized type "{sni.type}", supported values are: Exact'
        violations.append(Violation(f"{path}.type", reason))
    if not sni.value:
        violations.append(Violation(f"{path}.value", "must be set"))
    elif not is_dns_subdomain(sni.value):
        violations.append(Violation(f"{path}.value", "must be a valid DNS-1123 subdomain"))
    return violations


HeaderName = Annotated[
    str, Field(min_length=1, max_length=256, pattern=r"^[a-z0-9!#$%&'*+\-.^_`|~]+$")
]


class HeaderMatch(Strict):
    type: Literal["Exact", "Present", "RegularExpression", "Absent", "Prefix"] = "Exact"
    name: HeaderName
    value: str | None = None


class HeaderValue(Strict):
    name: HeaderName
    value: str


class LabelSelector(Strict):
    matchLabels: Labels | None = None


class Extension(Strict):
    """Hands a resource to a control plane plugin; `config` is the plugin's business."""

    # Empty when left out, as Kuma decodes it, so that the reason is Kuma's "must not be empty".
    type: str = ""
    config: Any = None


def extension_violations(path: str, extension: Extension | None) -> list[Violation]:
    if extension is not None and not extension.type:
        return [Violation(f"{path}.type", "must not be empty")]
    return []


class BackendResourceRef(Strict):
    """A reference to a shared backend resource, selected by labels."""

    kind: Literal["MeshOpenTelemetryBackend"]
    labels: Labels | None = None


class OpenTelemetryTarget(Strict):
    """Where an observability policy sends OpenTelemetry data: an endpoint or a backend."""

    endpoint: str = ""
    backendRef: BackendResourceRef | None = None


def open_telemetry_target_violations(path: str, target: OpenTelemetryTarget) -> list[Violation]:
    if target.endpoint and target.backendRef is not None:
        reason = "openTelemetry must have only one type defined: endpoint, backendRef"
        return [Violation(path, reason)]
    if target.backendRef is not None:
        if not target.backendRef.labels:
            return [
                Violation(f"{path}.backendRef", "backendRef must have exactly one defined: labels")
            ]
        return []
    if not target.endpoint:
        reason = "openTelemetry must have exactly one defined: endpoint, backendRef"
        return [Violation(path, reason)]
    if any(char in target.endpoint for char in "/?#"):
        return [Violation(f"{path}.endpoint", "must be in host:port format, not a URL")]
    return []


# --- policy shapes ---------------------------------------------------------------------------

Conf = TypeVar("Conf", bound=BaseModel)


# Kuma's `default` is a plain struct, so leaving it out means an empty one: validated as
# such, it is reported by the fields it lacks (`default.action`, `default.backends`).
def _empty_default() -> Any:
    return Field(default_factory=dict, validate_default=True)


class FromItem(Strict, Generic[Conf]):
    targetRef: TargetRef
    default: Conf = _empty_default()


class ToItem(Strict, Generic[Conf]):
    targetRef: TargetRef
    default: Conf = _empty_default()


class RuleItem(Strict, Generic[Conf]):
    default: Conf = _empty_default()


class MatchedRuleItem(RuleItem[Conf], Generic[Conf]):
    """A rule that may apply to part of the inbound traffic only."""

    matches: list[Match] | None = None


class TargetedSpec(Strict):
    # Absent means the whole mesh.
    targetRef: TargetRef | None = None


class OutboundPolicySpec(TargetedSpec, Generic[Conf]):
    """Policies that configure traffic to destinations only (MeshRetry, MeshHealthCheck...)."""

    to: list[ToItem[Conf]] | None = None


class InboundPolicySpec(TargetedSpec, Generic[Conf]):
    """Policies that configure traffic reaching the selected proxies only."""

    from_: list[FromItem[Conf]] | None = Field(default=None, alias="from")
    # A Sequence, so that policies whose rules take `matches` can narrow the item type.
    rules: Sequence[RuleItem[Conf]] | None = None


class PolicySpec(InboundPolicySpec[Conf], Generic[Conf]):
    """targetRef selects the proxies; from/to/rules carry the configuration they get."""

    to: list[ToItem[Conf]] | None = None


class SingleConfPolicySpec(Strict, Generic[Conf]):
    """Policies that configure the selected proxies as a whole (MeshMetric, MeshTrace)."""

    targetRef: TargetRef | None = None
    default: Conf = _empty_default()


_SECTIONS = (("from", "from_"), ("to", "to"), ("rules", "rules"))


def sections(spec: BaseModel) -> dict[str, list[Any]]:
    """The from/to/rules lists a spec was given, by their YAML names."""
    return {
        name: getattr(spec, attribute)
        for name, attribute in _SECTIONS
        if getattr(spec, attribute, None) is not None
    }


def confs(spec: Any) -> Iterator[tuple[str, Any, Any]]:
    """Every (path, item, conf) of a from/to/rules policy: ('to[0].default', item, conf)."""
    for section, items in sections(spec).items():
        for index, item in enumerate(items):
            yield f"{section}[{index}].default", item, item.default


# --- which targetRef kinds go where ----------------------------------------------------------


@dataclass(frozen=True)
class TargetRefRules:
    """A semantic check: the targetRef kinds a policy accepts at the top and in each section.

    Kuma validates on Universal with the system policy role (no `kuma.io/policy-role` label),
    so `top` lists that role's kinds. A gateway or a route at the top narrows what the
    sections may select (`to_by_top`, `from_by_top`; an empty tuple forbids the section).
    """

    top: tuple[str, ...]
    from_: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    to_by_top: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    from_by_top: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # from/to/rules policies must configure something, and rules replace from and to.
    needs_section: bool = False
    # Whether a top-level MeshGateway may pick listeners by tags.
    gateway_listener_tags: bool = True

    def __call__(self, spec: Any) -> list[Violation]:
        present = sections(spec)
        inbound = bool(present.get("from") or present.get("rules"))
        violations = []
        top_kind = spec.targetRef.kind if spec.targetRef is not None else "Mesh"
        if spec.targetRef is not None:
            violations += target_ref_violations("targetRef", spec.targetRef, self.top, inbound)
            if top_kind == "MeshGateway" and spec.targetRef.tags and not self.gateway_listener_tags:
                violations.append(
                    Violation("targetRef.tags", "must not be set with kind MeshGateway")
                )
        allowed = {
            "from": self.from_by_top.get(top_kind, self.from_),
            "to": self.to_by_top.get(top_kind, self.to),
        }
        for section in ("from", "to"):
            items = present.get(section) or []
            if items and not allowed[section]:
                violations.append(Violation(section, "must not be defined"))
                continue
            for index, item in enumerate(items):
                path = f"{section}[{index}].targetRef"
                violations += target_ref_violations(path, item.targetRef, allowed[section])
        if self.needs_section:
            violations += _section_violations(spec)
        return violations


def _section_violations(spec: BaseModel) -> list[Violation]:
    """Kuma's rules for specs with rules: something must be configured, and rules replace
    the older from (and to) lists."""
    names = [name for name, attribute in _SECTIONS if attribute in type(spec).model_fields]
    present = sections(spec)
    if not any(present.values()):
        listed = ", ".join(f"'{name}'" for name in names[:-1]) + f" or '{names[-1]}'"
        return [Violation("", f"at least one of {listed} has to be defined")]
    if present.get("rules") and (present.get("from") or present.get("to")):
        replaced = [f"'{name}'" for name in reversed(names) if name != "rules"]
        if len(replaced) == 1:
            return [Violation("", f"field {replaced[0]} must be empty when 'rules' is defined")]
        joined = " and ".join(replaced)
        return [Violation("", f"fields {joined} must be empty when 'rules' is defined")]
    return []


_NAME_CHARACTERS = re.compile(r"^[0-9a-z.\-_]*$")
_NAMED_KINDS = {
    "MeshService",
    "MeshHTTPRoute",
    "MeshServiceSubset",
    "MeshGateway",
    "MeshExternalService",
}
# Fields each kind must not carry (Kuma's ValidateTargetRef).
_DISALLOWED: dict[str, tuple[str, ...]] = {
    "Mesh": ("mesh", "tags", "labels", "namespace", "sectionName"),
    "Dataplane": ("tags", "mesh", "proxyTypes"),
    "MeshSubset": ("name", "mesh", "labels", "namespace", "sectionName"),
    "MeshService": ("mesh", "tags", "proxyTypes"),
    "MeshHTTPRoute": ("mesh", "tags", "proxyTypes", "sectionName"),
    "MeshServiceSubset": ("mesh", "proxyTypes", "labels", "namespace", "sectionName"),
    "MeshGateway": ("mesh", "proxyTypes", "labels", "namespace", "sectionName"),
    "MeshExternalService": ("mesh", "tags", "proxyTypes", "sectionName"),
    "MeshMultiZoneService": (),
}


def target_ref_violations(
    path: str, ref: TargetRef, kinds: Sequence[str], inbound: bool = False
) -> list[Violation]:
    """Whether `ref` may be used where `kinds` are accepted, and carries only its kind's fields."""
    if ref.kind not in kinds:
        reason = f"value is not supported, must be one of {', '.join(kinds)}"
        return [Violation(f"{path}.kind", reason)]
    violations = []
    kind = ref.kind
    if kind == "Mesh" and ref.name:
        violations.append(
            Violation(f"{path}.name", "using name with kind Mesh is not yet supported")
        )
    for name in _DISALLOWED[kind]:
        if getattr(ref, name):
            violations.append(Violation(f"{path}.{name}", f"must not be set with kind {kind}"))
    if kind in ("Mesh", "MeshSubset") and ref.proxyTypes == []:
        reason = "must be undefined or have at least one element"
        violations.append(Violation(f"{path}.proxyTypes", reason))
    if kind in ("MeshServiceSubset", "MeshGateway") and not ref.name:
        violations.append(Violation(f"{path}.name", f"must be set when kind is {kind}"))
    if kind in ("MeshService", "MeshHTTPRoute", "MeshExternalService") and not (
        ref.labels or ref.name
    ):
        reason = f"name or labels must be set when kind is {kind}"
        violations.append(Violation(path, reason))
    if kind in ("Dataplane", "MeshService", "MeshHTTPRoute", "MeshExternalService") and (
        ref.labels and (ref.name or ref.namespace)
    ):
        reason = "either labels or name and namespace must be specified"
        violations.append(Violation(f"{path}.labels", reason))
    if kind == "Dataplane" and ref.sectionName and not inbound:
        reason = "can only be used with inbound policies"
        violations.append(Violation(f"{path}.sectionName", reason))
    if kind in _NAMED_KINDS and ref.name and not _NAME_CHARACTERS.match(ref.name):
        reason = (
            "invalid characters: must consist of lower case alphanumeric characters, "
            "'-', '.' and '_'."
        )
        violations.append(Violation(f"{path}.name", reason))
    return violations
