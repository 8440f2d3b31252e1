"""The contract every store backend keeps."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from meshfabric.resources.model import Resource, ResourceKey
from meshfabric.store.events import ChangeEvent, EventBus


@dataclass(frozen=True)
class Page:
    items: list[Resource]
    total: int


class Store(Protocol):
    events: EventBus

    async def get(self, key: ResourceKey) -> Resource | None: ...

    async def list(
        self,
        type_name: str,
        mesh: str | None = None,
        labels: Mapping[str, str] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Page:
        """Resources of one type sorted by mesh and name; `mesh=None` means every mesh."""
        ...

    async def put(
        self, resource: Resource, expected_version: int | None = None
    ) -> tuple[Resource, bool]:
        """Create or update; returns the stored resource and whether it was created.

        `expected_version` None writes unconditionally, 0 requires that the resource does not
        exist yet, any other number requires that it is the stored version (else Conflict).
        Writing what is already stored changes nothing and keeps the version.
        """
        ...

    async def write_batch(
        self,
        puts: Sequence[Resource],
        deletes: Sequence[ResourceKey] = (),
        guard: Callable[[ResourceKey, Resource | None], None] | None = None,
    ) -> builtins.list[ChangeEvent]:
        """Unconditional puts and deletes in one transaction, all or nothing.

        `guard(key, stored)` is called for every key before it is written and raises to
        refuse the whole batch. Returns the changes actually made.
        """
        ...

    async def set_status(self, key: ResourceKey, status: dict[str, Any] | None) -> None: ...

    async def delete(self, key: ResourceKey, expected_version: int | None = None) -> Resource: ...

    async def delete_mesh_contents(self, mesh: str) -> int:
        """Remove everything that lives in a mesh (the mesh itself stays)."""
        ...

    async def close(self) -> None: ...
