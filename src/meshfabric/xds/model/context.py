"""What the generators know about one mesh, kept current from store change events.

A `MeshContext` holds the mesh's own settings, its dataplanes and its policies. It is loaded
from the store once, when its first proxy connects, then updated one resource at a time as
change events arrive. Anything derived from it (the endpoint index, shared resources) is
recomputed lazily after a change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError

from meshfabric.dns import hostnames
from meshfabric.ipam import vips
from meshfabric.resources import (
    REGISTRY,
    Affects,
    Parsed,
    Registry,
    Resource,
    ResourceKey,
    ResourceType,
    Scope,
)
from meshfabric.resources.common import Targeted
from meshfabric.resources.types import (
    hostnamegenerator,
    meshexternalservice,
    meshmultizoneservice,
    meshservice,
)
from meshfabric.resources.types.dataplane import DataplaneFields
from meshfabric.resources.types.mesh import MeshFields, lifetime_seconds
from meshfabric.resources.types.zoneegress import ZoneEgressFields
from meshfabric.resources.types.zoneingress import ZoneIngressFields
from meshfabric.store.protocol import Store
from meshfabric.xds.envoy import names
from meshfabric.xds.model.crosszone import (
    RemoteIngress,
    RemoteService,
    ingresses_by_zone,
    local_egresses,
    remote_services,
    through_egresses,
)
from meshfabric.xds.model.destinations import (
    Destination,
    DestinationIndex,
    served_clusters,
    service_ports,
)
from meshfabric.xds.model.endpoint import Endpoint
from meshfabric.xds.model.external import (
    ExternalService,
    external_destinations,
    external_services,
)
from meshfabric.xds.model.proxy import Outbound, Proxy

log = logging.getLogger(__name__)

T = TypeVar("T")
F = TypeVar("F")  # a schema, or a protocol that schemas share

DEFAULT_CERT_LIFETIME_SECONDS = 24 * 3600
DEFAULT_ZONE = "default"  # a zone control plane's name when none is configured
_MISSING: Any = object()  # not derived yet (None may be a derived value)


@dataclass(frozen=True)
class Mtls:
    backend: str
    backend_type: str
    permissive: bool
    cert_lifetime_seconds: float


def relevant_types(registry: Registry = REGISTRY) -> dict[str, ResourceType]:
    """Types whose changes can change a proxy's config, by name."""
    return {t.name: t for t in registry if t.affects is not Affects.NOTHING}


@dataclass
class MeshContext:
    """Every resource is validated into its type's model once, when it arrives: all reading
    goes through those models."""

    name: str
    zone: str = DEFAULT_ZONE  # the zone whose control plane serves this mesh's proxies
    mesh: Parsed[MeshFields] | None = None
    dataplanes: dict[str, Parsed[DataplaneFields]] = field(default_factory=dict)
    policies: dict[str, dict[str, Parsed[Targeted]]] = field(default_factory=dict)
    secrets: dict[str, Parsed[BaseModel]] = field(default_factory=dict)
    services: dict[str, Parsed[meshservice.Spec]] = field(default_factory=dict)  # MeshServices
    multizone_services: dict[str, Parsed[meshmultizoneservice.Spec]] = field(default_factory=dict)
    hostname_generators: dict[str, Parsed[hostnamegenerator.Spec]] = field(default_factory=dict)
    ingresses: dict[str, Parsed[ZoneIngressFields]] = field(default_factory=dict)  # every zone's
    egresses: dict[str, Parsed[ZoneEgressFields]] = field(default_factory=dict)  # this zone's
    external: dict[str, Parsed[meshexternalservice.Spec]] = field(default_factory=dict)
    types: Mapping[str, ResourceType] = field(default_factory=relevant_types)
    _proxies: dict[str, Proxy] = field(default_factory=dict)
    _derived: dict[Any, Any] = field(default_factory=dict)
    _derived_from_endpoints: dict[Any, Any] = field(default_factory=dict)

    # -- updates ---------------------------------------------------------------------------

    def put(self, resource: Resource) -> Resource | None:
        """Replace (or add) one resource; returns the one it replaced."""
        try:
            parsed = self.types[resource.type].parse(resource)
        except ValidationError as problem:
            # Stored before a stricter schema: no proxy can be configured from it.
            log.warning("ignoring %s, which its schema refuses: %s", resource.key, problem)
            return self.remove(resource.key)
        self._changed(resource.type)
        previous: Parsed[object] | None
        if resource.type == "Mesh":
            previous, self.mesh = self.mesh, _narrowed(parsed, MeshFields)
        elif resource.type == "Dataplane":
            dataplane = _narrowed(parsed, DataplaneFields)
            previous = self.dataplanes.get(resource.name)
            self.dataplanes[resource.name] = dataplane
            self._proxies[resource.name] = Proxy.from_dataplane(dataplane)
        elif resource.type == "MeshService":
            previous = self.services.get(resource.name)
            self.services[resource.name] = _narrowed(parsed, meshservice.Spec)
        elif resource.type == "MeshMultiZoneService":
            previous = self.multizone_services.get(resource.name)
            self.multizone_services[resource.name] = _narrowed(parsed, meshmultizoneservice.Spec)
        elif resource.type == "HostnameGenerator":
            previous = self.hostname_generators.get(resource.name)
            self.hostname_generators[resource.name] = _narrowed(parsed, hostnamegenerator.Spec)
        elif resource.type == "ZoneIngress":
            previous = self.ingresses.get(resource.name)
            self.ingresses[resource.name] = _narrowed(parsed, ZoneIngressFields)
        elif resource.type == "ZoneEgress":
            previous = self.egresses.get(resource.name)
            self.egresses[resource.name] = _narrowed(parsed, ZoneEgressFields)
        elif resource.type == "MeshExternalService":
            previous = self.external.get(resource.name)
            self.external[resource.name] = _narrowed(parsed, meshexternalservice.Spec)
        elif resource.type == "Secret":
            previous = self.secrets.get(resource.name)
            self.secrets[resource.name] = parsed
        else:
            table = self.policies.setdefault(resource.type, {})
            previous = table.get(resource.name)
            if not isinstance(parsed.fields, Targeted):
                raise TypeError(f"the schema of {resource.type} has no targetRef")
            table[resource.name] = Parsed(resource, parsed.fields)
        return previous.resource if previous is not None else None

    def remove(self, key: ResourceKey) -> Resource | None:
        self._changed(key.type)
        previous: Parsed[object] | None
        if key.type == "Mesh":
            previous, self.mesh = self.mesh, None
        elif key.type == "Dataplane":
            self._proxies.pop(key.name, None)
            previous = self.dataplanes.pop(key.name, None)
        elif key.type == "MeshService":
            previous = self.services.pop(key.name, None)
        elif key.type == "MeshMultiZoneService":
            previous = self.multizone_services.pop(key.name, None)
        elif key.type == "HostnameGenerator":
            previous = self.hostname_generators.pop(key.name, None)
        elif key.type == "ZoneIngress":
            previous = self.ingresses.pop(key.name, None)
        elif key.type == "ZoneEgress":
            previous = self.egresses.pop(key.name, None)
        elif key.type == "MeshExternalService":
            previous = self.external.pop(key.name, None)
        elif key.type == "Secret":
            previous = self.secrets.pop(key.name, None)
        else:
            found = self.policies.get(key.type, {}).pop(key.name, None)
            return found.resource if found is not None else None
        return previous.resource if previous is not None else None

    def _changed(self, type_name: str) -> None:
        self._derived.clear()
        if type_name in _ENDPOINT_TYPES:
            self._derived_from_endpoints.clear()

    # -- reading ---------------------------------------------------------------------------

    def proxy(self, name: str) -> Proxy | None:
        return self._proxies.get(name)

    @overload
    def policies_of(self, type_name: str) -> list[Parsed[Targeted]]: ...

    @overload
    def policies_of(self, type_name: str, schema: type[F]) -> list[Parsed[F]]: ...

    def policies_of(
        self, type_name: str, schema: type[Any] | None = None
    ) -> list[Parsed[Targeted]] | list[Parsed[Any]]:
        """The policies of a type by name; with `schema`, as that type's own model."""
        # Every plugin asks for every outbound it edits: kept until the next change.
        if schema is None:
            return self.derived(
                ("policies", type_name), lambda: _sorted(self.policies.get(type_name, {}))
            )
        return self.derived(
            ("policies", type_name, schema),
            lambda: [_narrowed(policy, schema) for policy in self.policies_of(type_name)],
        )

    def policy(self, resource: Resource) -> Parsed[Targeted] | None:
        """A policy as its model: the one kept here, unless `resource` is another version;
        None for one its schema refuses (left out of the context, see `put`)."""
        kept = self.policies.get(resource.type, {}).get(resource.name)
        if kept is not None and kept.resource is resource:
            return kept
        try:
            parsed = self.types[resource.type].parse(resource)
        except ValidationError:
            return None
        if not isinstance(parsed.fields, Targeted):
            raise TypeError(f"the schema of {resource.type} has no targetRef")
        return Parsed(resource, parsed.fields)

    def derived(self, key: Any, compute: Callable[[], T]) -> T:
        """A value computed from this context, kept until the next change, shared by all
        proxies of the mesh (endpoint lists, clusters every client of a service uses)."""
        value: T = self._derived.get(key, _MISSING)
        if value is _MISSING:
            value = self._derived[key] = compute()
        return value

    def derived_from_endpoints(self, key: Any, compute: Callable[[], T]) -> T:
        """Like `derived`, for a value that depends only on the types endpoints come from
        (`_ENDPOINT_TYPES`: the endpoint index, endpoint lists): kept across changes of any
        other resource."""
        value: T = self._derived_from_endpoints.get(key, _MISSING)
        if value is _MISSING:
            value = self._derived_from_endpoints[key] = compute()
        return value

    def endpoints(self, cluster: str) -> Sequence[Endpoint]:
        return self._destinations().endpoints.get(cluster, ())

    def destination(self, outbound: Outbound) -> Destination:
        return self._destinations().of(outbound)

    def outbounds(self, proxy: Proxy, vips: bool) -> tuple[Outbound, ...]:
        """The proxy's own outbounds, then, if it can bind VIPs, every VIP and port of the
        MeshServices (local and synced), MeshMultiZoneServices and MeshExternalServices."""
        if not vips:
            return proxy.outbounds
        return proxy.outbounds + self.derived("vip_outbounds", self._vip_outbounds)

    def served_clusters(self, proxy: Proxy) -> set[str]:
        return served_clusters(
            proxy, self.services.values(), self.multizone_services.values(), self.zone
        )

    def dns_records(self) -> Mapping[str, str]:
        """Hostname -> VIP of every MeshService, MeshMultiZoneService and
        MeshExternalService that has a VIP."""
        return self.derived("dns_records", self._dns_records)

    @property
    def mtls(self) -> Mtls | None:
        return self.derived("mtls", self._mtls)

    @property
    def zone_egress_required(self) -> bool:
        return self.mesh is not None and self.mesh.fields.zone_egress_required

    def remote_services(self) -> Mapping[str, RemoteService]:
        """The services other zones serve, as their ingresses reach them."""
        return self.derived_from_endpoints(
            "remote_services",
            lambda: remote_services(_sorted(self.services), self._remote_zones(), self.zone),
        )

    def external_services(self) -> list[ExternalService]:
        """The MeshExternalServices of the mesh that its proxies can reach."""
        return self.derived_from_endpoints(
            "external_services", lambda: external_services(_sorted(self.external))
        )

    def egress_problem(self) -> str | None:
        """Why traffic to other zones has nowhere to go, if it has not."""
        if not self.zone_egress_required or local_egresses(self.egresses.values(), self.zone):
            return None
        return (
            f'mesh "{self.name}" requires zoneEgress (routing.zoneEgress: true) and this zone '
            "has no ZoneEgress registered: calls to other zones and to MeshExternalServices "
            "fail until one runs (meshfabric-dp run --proxy-type egress)"
        )

    def _remote_zones(self) -> Mapping[str, list[RemoteIngress]]:
        return self.derived_from_endpoints(
            "remote_zones", lambda: ingresses_by_zone(_sorted(self.ingresses), self.zone)
        )

    def _destinations(self) -> DestinationIndex:
        return self.derived_from_endpoints(
            "destinations",
            self._build_destinations,
        )

    def _build_destinations(self) -> DestinationIndex:
        zones = self._remote_zones()
        egresses = None
        if self.zone_egress_required:
            problem = self.egress_problem()
            if problem:
                log.warning("%s", problem)
            egresses = local_egresses(_sorted(self.egresses), self.zone)
            zones = through_egresses(zones, egresses)
        index = DestinationIndex.build(
            self._proxies,
            _sorted(self.services),
            remote_services(_sorted(self.services), zones, self.zone),
            zones,
            _sorted(self.multizone_services),
            self.zone,
        )
        destinations, endpoints = external_destinations(self.external_services(), egresses)
        return DestinationIndex(
            {**index.destinations, **destinations}, {**index.endpoints, **endpoints}
        )

    def _vip_outbounds(self) -> tuple[Outbound, ...]:
        single = [
            Outbound(vip, port.port, service.name, port.cluster)
            for service in _sorted(self.services)
            for vip in vips(service.resource)[:1]
            for port in service_ports(service)
        ]
        cluster = names.multizone_service_cluster
        combined = [
            Outbound(vip, port.port, service.name, cluster(service.name, port.port))
            for service in _sorted(self.multizone_services)
            for vip in vips(service.resource)[:1]
            for port in service.fields.ports
        ]
        reachable = {service.name: service for service in self.external_services()}
        external = [
            Outbound(vip, service.port, service.name, service.cluster)
            for parsed in _sorted(self.external)
            if (service := reachable.get(parsed.name)) is not None
            for vip in vips(parsed.resource)[:1]
        ]
        return (*single, *combined, *external)

    def _dns_records(self) -> dict[str, str]:
        generators = _sorted(self.hostname_generators)
        named: list[Parsed[Any]] = [
            *_sorted(self.services),
            *_sorted(self.multizone_services),
            *_sorted(self.external),
        ]
        return {
            hostname: vip
            for service in named
            for vip in vips(service.resource)[:1]
            for hostname in hostnames(service.resource, generators)
        }

    def _mtls(self) -> Mtls | None:
        mtls = self.mesh.fields.mtls if self.mesh else None
        if mtls is None:
            return None
        for backend in mtls.backends or []:
            if backend.name == mtls.enabledBackend:
                rotation = backend.dpCert.rotation if backend.dpCert else None
                expiration = rotation.expiration if rotation else None
                return Mtls(
                    backend=backend.name,
                    backend_type=backend.type,
                    permissive=backend.mode == "PERMISSIVE",
                    cert_lifetime_seconds=_seconds(expiration, DEFAULT_CERT_LIFETIME_SECONDS),
                )
        return None


# What the endpoint index is built from (the Mesh says whether an egress is required).
_ENDPOINT_TYPES = frozenset(
    {
        "Mesh",
        "Dataplane",
        "MeshService",
        "MeshMultiZoneService",
        "MeshExternalService",
        "ZoneIngress",
        "ZoneEgress",
    }
)


def _sorted(table: Mapping[str, Parsed[F]]) -> list[Parsed[F]]:
    return [table[name] for name in sorted(table)]


def _narrowed(parsed: Parsed[object], schema: type[F]) -> Parsed[F]:
    if not isinstance(parsed.fields, schema):
        raise TypeError(f"{parsed.key} was parsed as {type(parsed.fields).__name__}")
    return Parsed(parsed.resource, parsed.fields)


class MeshContexts:
    """The loaded meshes of this control plane."""

    def __init__(
        self, store: Store, registry: Registry = REGISTRY, zone: str = DEFAULT_ZONE
    ) -> None:
        self._store = store
        self._zone = zone
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

    def affects(self, type_name: str) -> Affects:
        """Which proxies a change to a resource of this type reaches."""
        rtype = self._types.get(type_name)
        return Affects.NOTHING if rtype is None else rtype.affects

    async def refresh(
        self, key: ResourceKey
    ) -> list[tuple[MeshContext, Resource | None, Resource | None]]:
        """Re-read one changed resource into the loaded meshes it belongs to (all of them for a
        global type): (mesh, before, after) for each; none if no proxy of its mesh is
        connected here or the type does not matter."""
        rtype = self._types.get(key.type)
        if rtype is None:
            return []
        if rtype.scope is Scope.GLOBAL and rtype.affects is not Affects.OWN_MESH:
            contexts = list(self._meshes.values())
        else:
            found = self._meshes.get(key.name if key.type == "Mesh" else key.mesh)
            contexts = [] if found is None else [found]
        if not contexts:
            return []
        current = await self._store.get(key)
        return [
            (context, context.put(current) if current is not None else context.remove(key), current)
            for context in contexts
        ]

    async def _load(self, mesh: str) -> MeshContext:
        context = MeshContext(mesh, self._zone)
        found = await self._store.get(ResourceKey("Mesh", "", mesh))
        if found is not None:
            context.put(found)
        for rtype in self._types.values():
            if rtype.affects is Affects.OWN_MESH:
                continue
            scope = "" if rtype.scope is Scope.GLOBAL else mesh
            for resource in (await self._store.list(rtype.name, scope)).items:
                context.put(resource)
        return context


def _seconds(lifetime: str | None, default: float) -> float:
    seconds = lifetime_seconds(lifetime) if lifetime else None
    return default if seconds is None else float(seconds)
