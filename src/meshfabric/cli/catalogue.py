"""The resource types a control plane serves (GET /_resources), and the names people type."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from meshfabric.cli.errors import MeshctlError


@dataclass(frozen=True)
class ResourceTypeInfo:
    """One entry of the control plane's type catalogue, as meshctl needs it."""

    name: str
    path: str
    mesh_scoped: bool
    is_policy: bool
    apply_order: int  # what others refer to has the lower number
    short_name: str | None = None  # kumactl's abbreviation, such as "mtp"

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> ResourceTypeInfo:
        policy = entry.get("policy") or {}
        return cls(
            name=entry["name"],
            path=entry["path"],
            mesh_scoped=entry["scope"] == "Mesh",
            is_policy=bool(policy),
            apply_order=entry["applyOrder"],
            short_name=entry.get("shortName"),
        )

    def describe(self, mesh: str, name: str) -> str:
        """How output lines name one resource: `MeshTimeout default/slow` or `Mesh default`."""
        return f"{self.name} {mesh}/{name}" if self.mesh_scoped else f"{self.name} {name}"


class Catalogue:
    def __init__(self, types: Iterable[ResourceTypeInfo]) -> None:
        self._types = list(types)
        self._by_name = {t.name: t for t in self._types}

    def __iter__(self) -> Iterator[ResourceTypeInfo]:
        return iter(self._types)

    def by_name(self, name: str) -> ResourceTypeInfo:
        """The type a document's `type:` field names, spelled exactly."""
        if name not in self._by_name:
            raise MeshctlError(f'unknown resource type "{name}"; {self._suggest(name)}')
        return self._by_name[name]

    def find(self, word: str) -> ResourceTypeInfo:
        """What a person types: a type name, a plural path, a short name; any case."""
        found = self._match(word)
        if found is None:
            raise MeshctlError(f'unknown resource type "{word}"; {self._known()}')
        return found

    def _match(self, word: str) -> ResourceTypeInfo | None:
        lowered = word.lower()
        return next(
            (t for t in self._types if lowered in (t.name.lower(), t.path, t.short_name)), None
        )

    def _suggest(self, name: str) -> str:
        """A document names its type exactly as the type is called, never by its path."""
        found = self._match(name)
        if found is not None:
            return f'did you mean "{found.name}"?'
        return "types: " + ", ".join(sorted(self._by_name))

    def _known(self) -> str:
        return "known types: " + ", ".join(sorted(t.path for t in self._types))
