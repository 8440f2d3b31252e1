"""Writes as users and sync see them: validation, mesh membership, cascades, dry runs.

The store only keeps rows; the manager keeps the rules that make them a consistent mesh.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from meshfabric.resources import REGISTRY, Registry, Resource, ResourceKey, Scope, Violation
from meshfabric.resources.model import ResourceType, ValidationFailed
from meshfabric.resources.names import mesh_violations, name_violations
from meshfabric.store.errors import Conflict, MeshNotFound
from meshfabric.store.protocol import Store

_LABEL_KEY_MAX = 317  # prefix (253) + "/" + name (63), as Kubernetes allows
_LABEL_VALUE_MAX = 63


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ApplyResult:
    resource: Resource
    outcome: Outcome
    previous: Resource | None


# Called with the stored resource (or None) before a write; raises to refuse it.
WriteGuard = Callable[[Resource | None], None]


class ResourceManager:
    def __init__(self, store: Store, registry: Registry = REGISTRY) -> None:
        self.store = store
        self.registry = registry

    async def apply(
        self,
        resource: Resource,
        expected_version: int | None = None,
        dry_run: bool = False,
        guard: WriteGuard | None = None,
    ) -> ApplyResult:
        """Validate and write one resource; with dry_run, say what a write would do."""
        rtype = self.registry.get(resource.type)
        violations = _meta_violations(rtype, resource) + _label_violations(resource.labels)
        try:
            rtype.validate(resource.spec)
        except ValidationFailed as failed:
            violations = failed.violations + violations
        if violations:
            raise ValidationFailed(violations)
        if rtype.scope is Scope.MESH:
            await self._require_mesh(resource.mesh)
        previous = await self.store.get(resource.key)
        if previous is not None:
            rtype.validate_update(previous.spec, resource.spec)
        if guard is not None:
            guard(previous)
        if dry_run:
            return self._predict(resource, previous, expected_version)
        stored, created = await self.store.put(resource, expected_version)
        if created:
            outcome = Outcome.CREATED
        elif previous is not None and stored.version == previous.version:
            outcome = Outcome.UNCHANGED
        else:
            outcome = Outcome.UPDATED
        return ApplyResult(stored, outcome, previous)

    async def delete(
        self,
        key: ResourceKey,
        expected_version: int | None = None,
        guard: WriteGuard | None = None,
    ) -> Resource:
        if guard is not None:
            guard(await self.store.get(key))
        deleted = await self.store.delete(key, expected_version)
        if key.type == "Mesh":
            await self.store.delete_mesh_contents(key.name)
        return deleted

    async def _require_mesh(self, mesh: str) -> None:
        if not mesh:
            raise ValidationFailed([Violation("mesh", "must be defined")])
        if await self.store.get(ResourceKey("Mesh", "", mesh)) is None:
            raise MeshNotFound(mesh)

    @staticmethod
    def _predict(
        resource: Resource, previous: Resource | None, expected_version: int | None
    ) -> ApplyResult:
        actual = previous.version if previous else None
        if expected_version is not None and expected_version != (actual or 0):
            raise Conflict(resource.key, expected_version, actual)
        if previous is None:
            return ApplyResult(resource, Outcome.CREATED, None)
        if previous.spec == resource.spec and previous.labels == resource.labels:
            return ApplyResult(previous, Outcome.UNCHANGED, previous)
        return ApplyResult(resource, Outcome.UPDATED, previous)


def _meta_violations(rtype: ResourceType, resource: Resource) -> list[Violation]:
    """The name (and mesh) every writer must get right: the API, registration and sync."""
    found = name_violations(resource.name, rtype.name_rule, resource.labels)
    if rtype.scope is Scope.MESH and resource.mesh:  # a missing mesh is refused below
        found += mesh_violations(resource.mesh)
    return found


def _label_violations(labels: Mapping[str, Any]) -> list[Violation]:
    violations = []
    for key, value in labels.items():
        if not key or len(key) > _LABEL_KEY_MAX:
            violations.append(Violation(f"labels[{key}]", "key must be 1 to 317 characters"))
        if not isinstance(value, str):
            violations.append(Violation(f"labels[{key}]", "value must be a string"))
        elif len(value) > _LABEL_VALUE_MAX:
            violations.append(Violation(f"labels[{key}]", "value must be at most 63 characters"))
    return violations
