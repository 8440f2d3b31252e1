"""Keep every connected proxy's snapshot current, driven by store change events.

Changes are collected for a short debounce window, applied to the mesh contexts, and then
only the proxies they affect are regenerated:
- a Dataplane: itself, and the proxies that call one of its services;
- a policy: the proxies its targetRef selects, before or after the change;
- the Mesh, its CA secrets, a MeshService or a HostnameGenerator: every proxy of the mesh.
When a Dataplane changes only its endpoints (same services, same protocols), its callers'
snapshots just take the new shared load assignments instead of being regenerated (unless a
policy, such as a MeshLoadBalancingStrategy, shapes their endpoints for them). A proxy's
workload certificate is reissued on schedule, which regenerates only that proxy.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from meshfabric.ca.identities import Identity, IdentityProvider, RootNotSynced
from meshfabric.dataplane_api.node import NO_FEATURES, Features
from meshfabric.policies.core import selects, shapes_endpoints, target_ref
from meshfabric.policies.registry import PLUGINS
from meshfabric.resources import Affects, Resource, ResourceKey
from meshfabric.store.events import ChangeEvent
from meshfabric.store.protocol import Store
from meshfabric.xds.cache.snapshot import Snapshot, SnapshotCache
from meshfabric.xds.envoy import types
from meshfabric.xds.generate import egress, ingress
from meshfabric.xds.generate.outbound import shared_load_assignment
from meshfabric.xds.generate.profile import generate_snapshot
from meshfabric.xds.model.context import DEFAULT_ZONE, MeshContext, MeshContexts
from meshfabric.xds.model.external import EGRESS_IDENTITY
from meshfabric.xds.model.proxy import Proxy, ProxyId
from meshfabric.xds.model.proxy_context import ProxyContext
from meshfabric.xds.server.delivery import DeliveryTracker

log = logging.getLogger(__name__)

DEFAULT_DEBOUNCE_SECONDS = 0.02


class ZoneProxy(enum.StrEnum):
    """A proxy that serves its zone rather than one workload; the value is its token type."""

    INGRESS = "ingress"
    EGRESS = "egress"

    @property
    def resource_type(self) -> str:
        return "ZoneIngress" if self is ZoneProxy.INGRESS else "ZoneEgress"

    @classmethod
    def of(cls, proxy_type: object) -> ZoneProxy | None:
        """The zone proxy of a proxy or token type; None for a sidecar's."""
        return next((kind for kind in cls if kind.value == proxy_type), None)


@dataclass
class _Touched:
    """Proxies a change touches: wholly, or only in the endpoints of some services."""

    full: set[ProxyId] = field(default_factory=set)
    endpoints: dict[ProxyId, set[str]] = field(default_factory=dict)

    def add(self, other: _Touched) -> None:
        self.full |= other.full
        for proxy, services in other.endpoints.items():
            self.endpoints.setdefault(proxy, set()).update(services)


def _dataplane_touches(
    context: MeshContext,
    name: str,
    before: Resource | None,
    after: Resource | None,
    connected: list[tuple[Proxy, Features]],
) -> _Touched:
    """The dataplane itself, and its callers: only their endpoints if it still serves the same
    services with the same protocols (a move, a readiness change), else their whole config.
    Callers whose endpoints a policy shapes for them alone are regenerated either way."""
    old, new = (Proxy.from_resource(r) if r else None for r in (before, after))
    served = set().union(*(context.served_clusters(p) for p in (old, new) if p is not None))
    callers, shaped = {}, set()
    for proxy, features in connected:
        reached = {o.cluster for o in context.outbounds(proxy, features.vips)} & served
        if reached:
            callers[proxy.id] = reached
            if shapes_endpoints(context, proxy, PLUGINS):
                shaped.add(proxy.id)
    itself = ProxyId(context.name, name)
    callers.pop(itself, None)
    if old is not None and new is not None and old.shape == new.shape:
        shared = {proxy: reached for proxy, reached in callers.items() if proxy not in shaped}
        return _Touched(full={itself, *(shaped & set(callers))}, endpoints=shared)
    return _Touched(full={itself, *callers})


class Reconciler:
    def __init__(
        self,
        store: Store,
        cache: SnapshotCache,
        identities: IdentityProvider,
        debounce_seconds: float = DEFAULT_DEBOUNCE_SECONDS,
        zone: str = DEFAULT_ZONE,
    ) -> None:
        self._store = store
        self._cache = cache
        self._identities = identities
        self._debounce = debounce_seconds
        self.contexts = MeshContexts(store, zone=zone)
        self._connections: dict[ProxyId, Features] = {}
        # Connected zone ingresses and egresses, by their token's mesh.
        self._zone_proxies: dict[ProxyId, ZoneProxy] = {}
        self._streams: dict[ProxyId, int] = {}
        self._dirty: dict[ProxyId, float] = {}  # proxy -> when it was first marked
        self._events: list[tuple[ChangeEvent, float]] = []
        self._wake = asyncio.Event()
        self._rotations: dict[ProxyId, asyncio.TimerHandle] = {}
        self.delivery = DeliveryTracker()

    @property
    def busy(self) -> bool:
        """Changes or proxies are waiting to be reconciled."""
        return bool(self._events or self._dirty)

    # -- proxies coming and going -----------------------------------------------------------

    def connect(
        self, proxy: ProxyId, features: Features = NO_FEATURES, zone_proxy: ZoneProxy | None = None
    ) -> None:
        self._connections[proxy] = features
        if zone_proxy is not None:
            self._zone_proxies[proxy] = zone_proxy
        self._streams[proxy] = self._streams.get(proxy, 0) + 1
        self._mark(proxy)

    def disconnect(self, proxy: ProxyId) -> None:
        remaining = self._streams.get(proxy, 0) - 1
        if remaining > 0:
            self._streams[proxy] = remaining
            return
        self._streams.pop(proxy, None)
        self._connections.pop(proxy, None)
        self._zone_proxies.pop(proxy, None)
        self._dirty.pop(proxy, None)
        self.delivery.forget(proxy)
        timer = self._rotations.pop(proxy, None)
        if timer is not None:
            timer.cancel()
        self._cache.clear(proxy)
        self._identities.forget_proxy(proxy.mesh, proxy.name)

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Follow the store until cancelled."""
        async with self._store.events.subscribe() as queue:
            forwarder = asyncio.create_task(self._collect(queue))
            try:
                while True:
                    await self._wake.wait()
                    await asyncio.sleep(self._debounce)
                    self._wake.clear()
                    await self.reconcile_pending()
            finally:
                forwarder.cancel()

    async def _collect(self, queue: asyncio.Queue[ChangeEvent]) -> None:
        while True:
            event = await queue.get()
            # Read the list only now: reconcile_pending swaps it while we wait.
            self._events.append((event, time.monotonic()))
            self._wake.set()

    async def reconcile_pending(self) -> None:
        events, self._events = self._events, []
        touched = await self._apply(event for event, _ in events)
        dirty, self._dirty = self._dirty, {}
        first_event = min((arrived for _, arrived in events), default=time.monotonic())
        for proxy in touched.full:
            dirty[proxy] = min(dirty.get(proxy, first_event), first_event)
        for proxy, started in sorted(dirty.items()):
            await self._regenerate(proxy, started)
            await asyncio.sleep(0)  # let this proxy's stream send while others are generated
        for proxy, services in sorted(touched.endpoints.items()):
            if proxy not in dirty:
                self._refresh_endpoints(proxy, services, first_event)
                await asyncio.sleep(0)

    def _mark(self, proxy: ProxyId) -> None:
        self._dirty.setdefault(proxy, time.monotonic())
        self._wake.set()

    # -- what a change touches ----------------------------------------------------------------

    async def _apply(self, events: Iterable[ChangeEvent]) -> _Touched:
        touched = _Touched()
        for key in dict.fromkeys(event.key for event in events):
            for context, before, after in await self.contexts.refresh(key):
                touched.add(self._affected(context, key, before, after))
                # A zone proxy's chains follow its mesh's services: regenerating it is cheap.
                touched.full |= {p for p in self._zone_proxies if p.mesh == context.name}
        return touched

    def _affected(
        self,
        context: MeshContext,
        key: ResourceKey,
        before: Resource | None,
        after: Resource | None,
    ) -> _Touched:
        connected = self._connected_proxies(context)
        everyone = _Touched(full={proxy.id for proxy, _ in connected})
        affects = self.contexts.affects(key.type)
        if affects is Affects.MESH_CA:
            if not key.name.startswith(f"{context.name}.ca-builtin-"):
                return _Touched()
            self._identities.forget_mesh(context.name)
            return everyone
        if affects in (Affects.OWN_MESH, Affects.EVERY_PROXY):
            return everyone  # e.g. every proxy has a listener and a DNS entry per MeshService
        if affects is Affects.DATAPLANE:
            return _dataplane_touches(context, key.name, before, after, connected)
        present = [
            policy.fields
            for resource in (before, after)
            if resource and (policy := context.policy(resource)) is not None
        ]
        return _Touched(
            full={
                proxy.id
                for proxy, _ in connected
                if any(selects(target_ref(policy), proxy) for policy in present)
            }
        )

    def _connected_proxies(self, context: MeshContext) -> list[tuple[Proxy, Features]]:
        found = []
        for connected, features in self._connections.items():
            if connected.mesh == context.name:
                proxy = context.proxy(connected.name)
                if proxy is not None:
                    found.append((proxy, features))
        return found

    # -- generation -----------------------------------------------------------------------

    async def _regenerate(self, proxy: ProxyId, started: float) -> None:
        features = self._connections.get(proxy)
        if features is None:
            return
        try:
            context = await self.contexts.get(proxy.mesh)
            kind = self._zone_proxies.get(proxy)
            if kind is not None:
                snapshot = await self._zone_proxy_snapshot(context, kind, proxy)
            else:
                snapshot = await self._sidecar_snapshot(context, proxy, features)
        except RootNotSynced as waiting:
            # The CA's secrets arriving from global regenerate every proxy of the mesh.
            log.info("the config of proxy %s waits: %s", proxy, waiting)
            return
        except Exception:
            log.exception("could not generate the config of proxy %s", proxy)
            return
        before = self._cache.get(proxy)
        if self._cache.set(proxy, snapshot):
            self.delivery.pushed(proxy, before, snapshot, started)

    async def _zone_proxy_snapshot(
        self, context: MeshContext, kind: ZoneProxy, proxy: ProxyId
    ) -> Snapshot:
        if kind is ZoneProxy.INGRESS:
            found_ingress = context.ingresses.get(proxy.name)
            if found_ingress is not None:
                return ingress.generate_snapshot(context, found_ingress)
            return Snapshot.of([])
        found_egress = context.egresses.get(proxy.name)
        if found_egress is None:
            return Snapshot.of([])
        # Its own certificate: it terminates the mTLS of calls to MeshExternalServices.
        identity = await self._identity(context, proxy.name, frozenset({EGRESS_IDENTITY}))
        if identity is not None:
            self._schedule_rotation(proxy, identity)
        return egress.generate_snapshot(context, found_egress, identity)

    async def _sidecar_snapshot(
        self, context: MeshContext, proxy: ProxyId, features: Features
    ) -> Snapshot:
        proxy_context = await self.proxy_context(context, proxy.name, features)
        if proxy_context is None:
            return Snapshot.of([])
        snapshot = generate_snapshot(proxy_context)
        if proxy_context.identity is not None:
            self._schedule_rotation(proxy, proxy_context.identity)
        return snapshot

    def _refresh_endpoints(self, proxy: ProxyId, clusters: set[str], started: float) -> None:
        """Only endpoints changed: swap the shared load assignments into the last snapshot."""
        current = self._cache.get(proxy)
        context = self.contexts.loaded(proxy.mesh) if proxy in self._connections else None
        if current is None or context is None:
            return
        held = current.of_type(types.ENDPOINT)
        updates = [
            shared_load_assignment(context, cluster)
            for cluster in sorted(clusters)
            if cluster in held
        ]
        snapshot = current.replacing(updates)
        if self._cache.set(proxy, snapshot):
            self.delivery.pushed(proxy, current, snapshot, started)

    async def proxy_context(
        self, context: MeshContext, name: str, features: Features = NO_FEATURES
    ) -> ProxyContext | None:
        """The inputs of one proxy's config; None if no such dataplane exists."""
        proxy = context.proxy(name)
        if proxy is None:
            return None
        identity = await self._identity(context, proxy.name, proxy.services)
        return ProxyContext.of(context, proxy, identity, features)

    def features_of(self, proxy: ProxyId) -> Features:
        """What the connected proxy's host offers (nothing if it is not connected)."""
        return self._connections.get(proxy, NO_FEATURES)

    async def _identity(
        self, context: MeshContext, name: str, services: frozenset[str]
    ) -> Identity | None:
        mtls = context.mtls
        if mtls is None or mtls.backend_type != "builtin":
            return None
        return await self._identities.identity(
            context.name, name, mtls.backend, services, mtls.cert_lifetime_seconds
        )

    def _schedule_rotation(self, proxy: ProxyId, identity: Identity) -> None:
        previous = self._rotations.pop(proxy, None)
        if previous is not None:
            previous.cancel()
        delay = max(0.0, (identity.rotate_at - datetime.now(UTC)).total_seconds())
        self._rotations[proxy] = asyncio.get_running_loop().call_later(delay, self._mark, proxy)
