"""The shape every resource type shares: identity, scope, sync direction, validation."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from meshfabric.resources.errors import Violation, violations_from_pydantic
from meshfabric.resources.names import NameRule


class Scope(enum.StrEnum):
    MESH = "Mesh"
    GLOBAL = "Global"


class KdsFlow(enum.Flag):
    """Which way a type travels between the global and the zone control planes."""

    NONE = 0
    GLOBAL_TO_ZONE = enum.auto()
    ZONE_TO_GLOBAL = enum.auto()
    # Synced up to global, then down again to every other zone (MeshService, ZoneIngress).
    ZONE_TO_ZONES = enum.auto()


class Affects(enum.Enum):
    """Which connected proxies must be regenerated when a resource of a type changes."""

    NOTHING = "Nothing"  # not an input of any proxy's config
    OWN_MESH = "OwnMesh"  # the Mesh resource: every proxy of the mesh it defines
    EVERY_PROXY = "EveryProxy"  # every proxy of its mesh; of every mesh for a global type
    MESH_CA = "MeshCA"  # every proxy of its mesh, when it is one of the mesh's CA secrets
    DATAPLANE = "Dataplane"  # the proxy itself and the proxies that call its services
    SELECTED = "Selected"  # the proxies the policy's top-level targetRef selects


# Policies are written after everything they may refer to.
POLICY_APPLY_ORDER = 1000


class ValidationFailed(Exception):
    """A resource broke its schema; each violation names the field path and the reason."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.reason}" for v in violations))
        self.violations = violations


SemanticCheck = Callable[[Any], list[Violation]]
# Rules on a change: called with the stored and the new fields, both parsed by the schema.
UpdateCheck = Callable[[Any, Any], list[Violation]]
# What valid parsed fields hold that is stored but not acted on yet: one sentence each.
Caveat = Callable[[Any], list[str]]


@dataclass(frozen=True)
class ResourceType:
    """Everything the store, the API, meshctl, the collection, the reconciler and KDS need
    to know about one kind of resource: the one place these facts are written down.

    `schema` validates the resource's own fields: what sits under `spec` for the newer
    types, or the top-level fields for Mesh, Dataplane, ZoneIngress, ZoneEgress, Zone,
    Secret and GlobalSecret (Kuma's older, protobuf-shaped types).
    `apply_order` ranks types for writing: what others refer to has the lower number.
    `short_name` is kumactl's abbreviation, if Kuma gives the type one.
    `has_envoy_plugin` is set, for a policy, when its package translates it into Envoy config.
    `name_rule` is what Kuma accepts as the type's names (see `resources.names`).
    `caveats` name what a valid resource may hold that nothing acts on yet; the API answers
    a write with them as `warnings`.
    """

    name: str
    plural: str
    scope: Scope
    schema: type[BaseModel]
    apply_order: int
    kds: KdsFlow = KdsFlow.GLOBAL_TO_ZONE
    has_spec: bool = True
    short_name: str | None = None
    is_policy: bool = False
    affects: Affects = Affects.NOTHING
    semantic_checks: tuple[SemanticCheck, ...] = field(default=())
    update_checks: tuple[UpdateCheck, ...] = field(default=())
    # Secrets are stored like any resource but never listed with their data in the open.
    sensitive: bool = False
    has_envoy_plugin: bool = False
    name_rule: NameRule = NameRule.SUBDOMAIN
    caveats: tuple[Caveat, ...] = field(default=())

    @property
    def singular_display_name(self) -> str:
        return _split_camel(self.name)

    @property
    def plural_display_name(self) -> str:
        singular = _split_camel(self.name)
        return singular + ("es" if singular.endswith(("s", "sh", "ch", "x")) else "s")

    @property
    def field_prefix(self) -> str:
        return "spec." if self.has_spec else ""

    def parse(self, resource: Resource) -> Parsed[BaseModel]:
        """The resource's fields as its schema's model (raises pydantic's ValidationError)."""
        return Parsed.of(resource, self.schema)

    def validate(self, fields: Mapping[str, Any]) -> None:
        """Raise ValidationFailed with every violation found, structural then semantic."""
        try:
            parsed = self.schema.model_validate(dict(fields))
        except ValidationError as exc:
            raise ValidationFailed(violations_from_pydantic(exc, self.field_prefix)) from None
        violations = [v for check in self.semantic_checks for v in check(parsed)]
        if violations:
            raise ValidationFailed(self._prefixed(violations))

    def validate_update(self, stored: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
        """Raise ValidationFailed if valid `fields` may not replace the `stored` ones."""
        if not self.update_checks:
            return
        try:
            before = self.schema.model_validate(dict(stored))
        except ValidationError:
            return  # stored under older rules: nothing this change could contradict
        after = self.schema.model_validate(dict(fields))
        violations = [v for check in self.update_checks for v in check(before, after)]
        if violations:
            raise ValidationFailed(self._prefixed(violations))

    def warnings(self, fields: Mapping[str, Any]) -> list[str]:
        """What of valid `fields` is stored but acted on by nothing yet, one sentence each."""
        if not self.caveats:
            return []
        parsed = self.schema.model_validate(dict(fields))
        return [warning for caveat in self.caveats for warning in caveat(parsed)]

    def _prefixed(self, violations: list[Violation]) -> list[Violation]:
        prefix = self.field_prefix
        return [
            Violation(prefix + v.field if v.field else prefix.rstrip("."), v.reason)
            for v in violations
        ]


def policy_type(
    name: str,
    plural: str,
    short_name: str,
    schema: type[BaseModel],
    semantic_checks: tuple[SemanticCheck, ...] = (),
) -> ResourceType:
    """Policies live in a mesh and are written on global or on a zone, synced both ways."""
    return ResourceType(
        name=name,
        plural=plural,
        short_name=short_name,
        scope=Scope.MESH,
        schema=schema,
        apply_order=POLICY_APPLY_ORDER,
        kds=KdsFlow.GLOBAL_TO_ZONE | KdsFlow.ZONE_TO_GLOBAL,
        is_policy=True,
        affects=Affects.SELECTED,
        semantic_checks=semantic_checks,
    )


@dataclass(frozen=True)
class Resource:
    """One stored resource. `spec` holds the type's own fields exactly as the user sent them."""

    type: str
    mesh: str
    name: str
    spec: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    version: int = 0
    creation_time: datetime | None = None
    modification_time: datetime | None = None
    status: dict[str, Any] | None = None

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.type, self.mesh, self.name)


Fields = TypeVar("Fields", covariant=True)
Schema = TypeVar("Schema", bound=BaseModel)


@dataclass(frozen=True)
class Parsed(Generic[Fields]):
    """A stored resource with its fields validated once into its type's schema: readers use
    `fields`, so that a misspelt field is a type error rather than a silent None."""

    resource: Resource
    fields: Fields

    @classmethod
    def of(cls, resource: Resource, schema: type[Schema]) -> Parsed[Schema]:
        """Validate the resource's fields (raises pydantic's ValidationError)."""
        return Parsed(resource, schema.model_validate(resource.spec))

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def key(self) -> ResourceKey:
        return self.resource.key


@dataclass(frozen=True, order=True)
class ResourceKey:
    type: str
    mesh: str  # "" for globally scoped types
    name: str

    def __str__(self) -> str:
        return f"{self.type} {self.mesh}/{self.name}" if self.mesh else f"{self.type} {self.name}"


def _split_camel(name: str) -> str:
    words: list[str] = []
    for char in name:
        if char.isupper() and words and not words[-1].isupper():
            words.append(" ")
        words.append(char)
    return "".join(words)
