"""The resource types a control plane serves (GET /_resources), and the names people type."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from meshfabric.cli.errors import MeshctlError

# kumactl's short names (the ShortName of Kuma's type descriptors); the catalogue has none.
SHORT_NAMES = {
    "extsvc": "MeshExternalService",
    "hg": "HostnameGenerator",
    "mal": "MeshAccessLog",
    "mcb": "MeshCircuitBreaker",
    "mhc": "MeshHealthCheck",
    "mlbs": "MeshLoadBalancingStrategy",
    "mm": "MeshMetric",
    "mr": "MeshRetry",
    "msvc": "MeshService",
    "mt": "MeshTimeout",
    "mtp": "MeshTrafficPermission",
    "mtr": "MeshTrace",
    "mzsvc": "MeshMultiZoneService",
}


@dataclass(frozen=True)
class ResourceTypeInfo:
    name: str
    path: str
    mesh_scoped: bool
    is_policy: bool

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> ResourceTypeInfo:
        return cls(
            name=entry["name"],
            path=entry["path"],
            mesh_scoped=entry["scope"] == "Mesh",
            is_policy=bool(entry.get("policy")),
        )

    @property
    def apply_order(self) -> int:
        """Meshes first, then the other global types, then what lives inside a mesh."""
        if self.name == "Mesh":
            return 0
        return 2 if self.mesh_scoped else 1

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
            raise MeshctlError(f'unknown resource type "{name}"; {self._known()}')
        return self._by_name[name]

    def find(self, word: str) -> ResourceTypeInfo:
        """What a person types: a type name, a plural path, a short name; any case."""
        lowered = word.lower()
        wanted = SHORT_NAMES.get(lowered, "").lower()
        for rtype in self._types:
            if lowered in (rtype.name.lower(), rtype.path) or rtype.name.lower() == wanted:
                return rtype
        raise MeshctlError(f'unknown resource type "{word}"; {self._known()}')

    def _known(self) -> str:
        return "known types: " + ", ".join(sorted(t.path for t in self._types))
