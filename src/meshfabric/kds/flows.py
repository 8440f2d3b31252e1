"""What flows where, decided from the type descriptors' `kds` flags, and how each side
checks what it receives.

Upward (zone to global): types flagged ZONE_TO_GLOBAL or ZONE_TO_ZONES, only what the zone
made itself, and the zone's DataplaneInsights (the type is flagged ZONE_TO_GLOBAL but has no
API routes), so that global shows every zone's proxies with their state; each insight is
computed by the zone its proxy is connected to, and global only keeps the copy. Downward
(global to a zone): what global made, of types flagged GLOBAL_TO_ZONE, and what other zones
made, of types flagged ZONE_TO_ZONES; nothing goes back to the zone it came from. The
control plane's own token secrets never leave the control plane, except what zones need to
verify the zone tokens of their ingresses and egresses: the zone tokens' public key and
revocation list (never the signing key).
"""

from __future__ import annotations

from typing import Protocol

from meshfabric.kds.names import (
    DISPLAY_NAME_LABEL,
    ORIGIN_LABEL,
    ORIGIN_ZONE,
    ZONE_LABEL,
    global_labels,
    hashed_name,
    made_in_zone,
    synced_to_zone,
    zone_labels,
)
from meshfabric.kds.wire import Rejected, split_wire_name, wire_name
from meshfabric.resources import (
    REGISTRY,
    KdsFlow,
    Registry,
    Resource,
    ResourceKey,
    ResourceType,
    Scope,
    ValidationFailed,
)
from meshfabric.resources.types import INSIGHTS
from meshfabric.store.protocol import Store
from meshfabric.tokens import DATAPLANE, USER, ZONE

_UPWARD = KdsFlow.ZONE_TO_GLOBAL | KdsFlow.ZONE_TO_ZONES
_DOWNWARD = KdsFlow.GLOBAL_TO_ZONE | KdsFlow.ZONE_TO_ZONES
# Signing keys, public keys and revocation lists of every token kind, mesh-scoped or not,
# by name.
_TOKEN_SECRETS = frozenset(
    key.name
    for kind in (USER, ZONE, DATAPLANE)
    for key in (kind.signing_key_key(""), kind.revocations_key(""), kind.public_key_key(""))
)
# The only GlobalSecrets zones receive: what verifying a zone token takes.
_FOR_ZONES = frozenset({ZONE.public_key_key(""), ZONE.revocations_key("")})


def upward_types(registry: Registry = REGISTRY) -> list[ResourceType]:
    return [rtype for rtype in [*registry, *INSIGHTS] if rtype.kds & _UPWARD]


def downward_types(registry: Registry = REGISTRY) -> list[ResourceType]:
    return [rtype for rtype in [*registry, *INSIGHTS] if rtype.kds & _DOWNWARD]


def never_synced(resource: Resource) -> bool:
    if resource.type == "GlobalSecret":
        return resource.key not in _FOR_ZONES
    return resource.type == "Secret" and resource.name in _TOKEN_SECRETS


class Outbound(Protocol):
    """What one peer may see of this control plane's store, and in which form."""

    zone: str  # the zone at one end of the stream
    types: list[ResourceType]

    def export(self, rtype: ResourceType, resource: Resource) -> Resource | None: ...


class Inbound(Protocol):
    """How this control plane takes what one peer sends: names, labels, and what it may touch."""

    zone: str  # the zone at one end of the stream
    types: list[ResourceType]

    async def held(self, rtype: ResourceType) -> list[str]:
        """Wire names of what this side holds from the peer, for the initial sync."""
        ...

    async def accept(self, rtype: ResourceType, received: Resource) -> Resource:
        """The resource to store for one received; Rejected says why it cannot be."""
        ...

    def local_key(self, rtype: ResourceType, name: str) -> ResourceKey: ...

    def guard(self, key: ResourceKey, stored: Resource | None) -> None:
        """Rejected unless the peer may replace or delete what is stored under the key."""
        ...


class ToZone:
    """Global's side of the global-to-zone stream of one zone."""

    def __init__(self, zone: str, registry: Registry = REGISTRY) -> None:
        self.zone = zone
        self.types = downward_types(registry)

    def export(self, rtype: ResourceType, resource: Resource) -> Resource | None:
        if never_synced(resource):
            return None
        if resource.labels.get(ORIGIN_LABEL) == ORIGIN_ZONE:
            from_elsewhere = resource.labels.get(ZONE_LABEL) != self.zone
            return resource if from_elsewhere and KdsFlow.ZONE_TO_ZONES in rtype.kds else None
        if KdsFlow.GLOBAL_TO_ZONE not in rtype.kds:
            return None
        return _relabelled(resource, global_labels(resource.labels))


class ToGlobal:
    """A zone's side of its zone-to-global stream: what the zone made, as it made it."""

    def __init__(self, zone: str, registry: Registry = REGISTRY) -> None:
        self.zone = zone
        self.types = upward_types(registry)

    def export(self, rtype: ResourceType, resource: Resource) -> Resource | None:
        if never_synced(resource) or synced_to_zone(resource.labels, self.zone):
            return None
        return resource


class FromZone:
    """Global taking one zone's resources: renamed with Kuma's hash, labelled with the zone,
    and never allowed to touch what global or another zone made."""

    def __init__(self, store: Store, zone: str, registry: Registry = REGISTRY) -> None:
        self.store = store
        self.zone = zone
        self.types = upward_types(registry)

    async def held(self, rtype: ResourceType) -> list[str]:
        labels = {ORIGIN_LABEL: ORIGIN_ZONE, ZONE_LABEL: self.zone}
        page = await self.store.list(rtype.name, labels=labels)
        return [wire_name(r.mesh, r.labels.get(DISPLAY_NAME_LABEL, r.name)) for r in page.items]

    async def accept(self, rtype: ResourceType, received: Resource) -> Resource:
        key = self.local_key(rtype, wire_name(received.mesh, received.name))
        _validate(rtype, received, key)
        if (
            rtype.scope is Scope.MESH
            and await self.store.get(ResourceKey("Mesh", "", key.mesh)) is None
        ):
            raise Rejected(f'{key}: mesh "{key.mesh}" does not exist at global')
        labels = zone_labels(received.labels, self.zone, received.name)
        return Resource(rtype.name, key.mesh, key.name, received.spec, labels)

    def local_key(self, rtype: ResourceType, name: str) -> ResourceKey:
        mesh, own = split_wire_name(name)
        if (rtype.scope is Scope.MESH) != bool(mesh):
            raise Rejected(f"{rtype.name} {name}: the mesh does not fit a {rtype.scope} type")
        return ResourceKey(rtype.name, mesh, hashed_name(mesh, own, self.zone))

    def guard(self, key: ResourceKey, stored: Resource | None) -> None:
        if stored is not None and not made_in_zone(stored.labels, self.zone):
            owner = stored.labels.get(ZONE_LABEL)
            made_by = f'zone "{owner}"' if owner else "global"
            raise Rejected(f'{key} was made by {made_by}; zone "{self.zone}" may not change it')


class FromGlobal:
    """A zone taking what global sends: stored as global names it, and never in place of
    what this zone made itself."""

    def __init__(self, store: Store, zone: str, registry: Registry = REGISTRY) -> None:
        self.store = store
        self.zone = zone
        self.types = downward_types(registry)

    async def held(self, rtype: ResourceType) -> list[str]:
        page = await self.store.list(rtype.name)
        return [
            wire_name(r.mesh, r.name) for r in page.items if synced_to_zone(r.labels, self.zone)
        ]

    async def accept(self, rtype: ResourceType, received: Resource) -> Resource:
        key = self.local_key(rtype, wire_name(received.mesh, received.name))
        if not synced_to_zone(received.labels, self.zone):
            raise Rejected(f"{key}: global sent it without the labels of a synced resource")
        _validate(rtype, received, key)
        return received

    def local_key(self, rtype: ResourceType, name: str) -> ResourceKey:
        mesh, own = split_wire_name(name)
        return ResourceKey(rtype.name, mesh, own)

    def guard(self, key: ResourceKey, stored: Resource | None) -> None:
        if stored is not None and not synced_to_zone(stored.labels, self.zone):
            raise Rejected(f'{key} was made in zone "{self.zone}"; global may not replace it')


def _validate(rtype: ResourceType, resource: Resource, key: ResourceKey) -> None:
    try:
        rtype.validate(resource.spec)
    except ValidationFailed as failed:
        raise Rejected(f"{key}: {failed}") from None


def _relabelled(resource: Resource, labels: dict[str, str]) -> Resource:
    return Resource(resource.type, resource.mesh, resource.name, resource.spec, labels)
