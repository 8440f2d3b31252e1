"""What the generators know about one mesh, kept current from store change events.

A `MeshContext` holds the mesh's own settings, its dataplanes and its policies. It is loaded
from the store once, when its first proxy connects, then updated one resource at a time as
change events arrive. Anything derived from it (the endpoint index, shared resources) is
recomputed lazily after a change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from meshfabric.resources import REGISTRY, Registry, Resource, ResourceKey
from meshfabric.resources.types.mesh import lifetime_seconds
from meshfabric.store.protocol import Store
from meshfabric.xds.proxy import Protocol, Proxy

T = TypeVar("T")

DEFAULT_CERT_LIFETIME_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Mtls:
    backend: str
    backend_type: str
    permissive: bool
    cert_lifetime_seconds: float


@dataclass(frozen=True)
class Endpoint:
    address: str
    port: int
    dataplane: str


@dataclass(frozen=True)
class _Service:
    endpoints: list[Endpoint]
    protocols: set[Protocol]


_NO_SERVICE = _Service([], set())


def relevant_types(registry: Registry = REGISTRY) -> frozenset[str]:
    """Types whose changes can change a proxy's config."""
    return frozenset({"Mesh", "Dataplane", "Secret"} | {t.name for t in registry if t.is_policy})


@dataclass
class MeshContext:
    name: str
    mesh: Resource | None = None
    dataplanes: dict[str, Resource] = field(default_factory=dict)
    policies: dict[str, dict[str, Resource]] = field(default_factory=dict)
    secrets: dict[str, Resource] = field(default_factory=dict)
    _proxies: dict[str, Proxy] = field(default_factory=dict)
    _derived: dict[Any, Any] = field(default_factory=dict)

    # -- updates ---------------------------------------------------------------------------

    def put(self, resource: Resource) -> Resource | None:
        """Replace (or add) one resource; returns the one it replaced."""
        self._derived.clear()
        if resource.type == "Mesh":
            previous, self.mesh = self.mesh, resource
            return previous
        table = self._table(resource.type)
        previous = table.get(resource.name)
        table[resource.name] = resource
        if resource.type == "Dataplane":
            self._proxies[resource.name] = Proxy.from_resource(resource)
        return previous

    def remove(self, key: ResourceKey) -> Resource | None:
        self._derived.clear()
        if key.type == "Mesh":
            previous, self.mesh = self.mesh, None
            return previous
        if key.type == "Dataplane":
            self._proxies.pop(key.name, None)
        return self._table(key.type).pop(key.name, None)

    def _table(self, type_name: str) -> dict[str, Resource]:
        if type_name == "Dataplane":
            return self.dataplanes
        if type_name == "Secret":
            return self.secrets
        return self.policies.setdefault(type_name, {})

    # -- reading ---------------------------------------------------------------------------

    def proxy(self, name: str) -> Proxy | None:
        return self._proxies.get(name)

    def policies_of(self, type_name: str) -> list[Resource]:
        return sorted(self.policies.get(type_name, {}).values(), key=lambda p: p.name)

    def derived(self, key: Any, compute: Callable[[], T]) -> T:
        """A value computed from this context, kept until the next change, shared by all
        proxies of the mesh (endpoint lists, clusters every client of a service uses)."""
        if key not in self._derived:
            self._derived[key] = compute()
        value: T = self._derived[key]
        return value

    def endpoints(self, service: str) -> list[Endpoint]:
        return self._services().get(service, _NO_SERVICE).endpoints

    def protocol(self, service: str) -> Protocol:
        """The protocol a service speaks; TCP unless all its inbounds agree on another."""
        protocols = self._services().get(service, _NO_SERVICE).protocols
        return next(iter(protocols)) if len(protocols) == 1 else Protocol.TCP

    @property
    def mtls(self) -> Mtls | None:
        return self.derived("mtls", self._mtls)

    def _services(self) -> dict[str, _Service]:
        return self.derived("services", self._index_services)

    def _index_services(self) -> dict[str, _Service]:
        """Every service's endpoints and protocols, in one pass over the dataplanes."""
        services: dict[str, _Service] = {}
        for name in sorted(self._proxies):
            proxy = self._proxies[name]
            for inbound in proxy.inbounds:
                entry = services.setdefault(inbound.service, _Service([], set()))
                entry.protocols.add(inbound.protocol)
                if inbound.ready:
                    entry.endpoints.append(Endpoint(inbound.address, inbound.port, name))
        return services

    def _mtls(self) -> Mtls | None:
        mtls = (self.mesh.spec.get("mtls") if self.mesh else None) or {}
        enabled = mtls.get("enabledBackend")
        for backend in mtls.get("backends") or []:
            if backend.get("name") == enabled:
                expiration = ((backend.get("dpCert") or {}).get("rotation") or {}).get("expiration")
                return Mtls(
                    backend=str(enabled),
                    backend_type=str(backend.get("type", "builtin")),
                    permissive=backend.get("mode") == "PERMISSIVE",
                    cert_lifetime_seconds=_seconds(expiration, DEFAULT_CERT_LIFETIME_SECONDS),
                )
        return None


class MeshContexts:
    """The loaded meshes of this control plane."""

    def __init__(self, store: Store, registry: Registry = REGISTRY) -> None:
        self._store = store
        self._types = relevant_types(registry)
        self._meshes: dict[str, MeshContext] = {}

    def loaded(self, mesh: str) -> MeshContext | None:
        return self._meshes.get(mesh)

    async def get(self, mesh: str) -> MeshContext:
        context = self._meshes.get(mesh)
        if context is None:
            context = await self._load(mesh)
            self._meshes.setdefault(mesh, context)
        return self._meshes[mesh]

    def is_relevant(self, key: ResourceKey) -> bool:
        return key.type in self._types

    async def refresh(self, key: ResourceKey) -> tuple[Resource | None, Resource | None] | None:
        """Re-read one changed resource into its mesh; (before, after) or None if the mesh
        is not loaded here (no proxy of it connected) or the type does not matter."""
        mesh = key.name if key.type == "Mesh" else key.mesh
        context = self._meshes.get(mesh)
        if context is None or not self.is_relevant(key):
            return None
        current = await self._store.get(key)
        previous = context.put(current) if current is not None else context.remove(key)
        return previous, current

    async def _load(self, mesh: str) -> MeshContext:
        context = MeshContext(mesh)
        found = await self._store.get(ResourceKey("Mesh", "", mesh))
        if found is not None:
            context.put(found)
        for type_name in sorted(self._types - {"Mesh"}):
            for resource in (await self._store.list(type_name, mesh)).items:
                context.put(resource)
        return context


def _seconds(lifetime: str | None, default: float) -> float:
    seconds = lifetime_seconds(lifetime) if lifetime else None
    return default if seconds is None else float(seconds)
