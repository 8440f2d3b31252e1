"""The sidecar profile: generators build a proxy's resources, then policy plugins edit them.

What a proxy owns (its secrets, inbounds, DNS listener) is built for it alone. An outbound's
cluster, route and listener depend only on the mesh, the destination and port, whether mTLS
is on, and which policies select the proxy: they are generated, edited by the plugins and
encoded once per distinct combination, and every proxy with the same one reuses them until
the mesh changes. Only the listener's address can differ between such proxies (each binds
its outbounds on its own address): the listener is generated at the first proxy's address,
and a copy moved to another address is encoded once per address.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Hashable, Mapping, Sequence
from typing import NamedTuple

from envoy.config.listener.v3.listener_pb2 import Listener

from meshfabric.metrics import XDS_GENERATION_SECONDS
from meshfabric.policies.core import PolicyPlugin, proxy_specific, selects, target_ref
from meshfabric.policies.registry import PLUGINS
from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy import names, types
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.generate import dns, inbound, outbound, secrets
from meshfabric.xds.model.proxy import Outbound
from meshfabric.xds.model.proxy_context import ProxyContext

OWN_GENERATORS = (secrets.generate, inbound.generate, dns.generate)

_Selecting = frozenset[tuple[str, str]]


class _SharedOutbound(NamedTuple):  # one per distinct outbound: a tuple builds fastest
    resources: tuple[XdsResource, ...]  # cluster, route, endpoints
    # The listener at the address of the outbound it was built for, encoded only: a message
    # kept per outbound for the few proxies that bind another address cost memory and
    # garbage-collector visits; those parse it again.
    listener: XdsResource
    address: str
    matched: Mapping[str, list[str]]


@dataclasses.dataclass(frozen=True)
class _Sharing:
    """What all of a proxy's outbounds depend on besides each outbound, found once per proxy
    generated: proxies alike in it share their outbounds' config."""

    selecting: _Selecting  # the policies whose top-level targetRef selects the proxy
    keys: tuple[Hashable, ...]  # the proxy's own facts that proxy-specific plugins read
    # The plugins of the selecting policies' types: the others have nothing to change in an
    # outbound of this proxy.
    plugins: tuple[PolicyPlugin, ...]

    @classmethod
    def of(cls, ctx: ProxyContext) -> _Sharing:
        selecting = _selecting_policies(ctx)
        selecting_types = {policy_type for policy_type, _ in selecting}
        keys = tuple(
            plugin.sharing_key(ctx)
            for plugin in proxy_specific(PLUGINS)
            if plugin.policy_type in selecting_types
        )
        plugins = tuple(p for p in PLUGINS if p.policy_type in selecting_types)
        return cls(selecting, keys, plugins)


def build_resources(ctx: ProxyContext) -> ResourceSet:
    resources = ResourceSet()
    for generator in OWN_GENERATORS:
        generator(ctx, resources)
    # The copy shares `matched` with ctx, so what the plugins record lands there.
    _apply_policies(resources, dataclasses.replace(ctx, outbounds=()))
    sharing = _Sharing.of(ctx)
    for item in ctx.outbounds:
        shared = _shared_outbound(ctx, item, sharing)
        resources.add_shared(*shared.resources, _placed_listener(ctx, item, sharing, shared))
        for policy_type, matched in shared.matched.items():
            ctx.record_match(policy_type, matched)
    return resources


def generate_snapshot(ctx: ProxyContext) -> Snapshot:
    started = time.perf_counter()
    snapshot = Snapshot.of(build_resources(ctx).encode())
    XDS_GENERATION_SECONDS.observe(time.perf_counter() - started)
    return snapshot


def _apply_policies(
    resources: ResourceSet, ctx: ProxyContext, plugins: Sequence[PolicyPlugin] = PLUGINS
) -> None:
    for plugin in plugins:
        plugin.apply(resources, ctx)


def _selecting_policies(ctx: ProxyContext) -> _Selecting:
    """The policies whose top-level targetRef selects the proxy: all that its outbounds'
    `to` configuration depends on, apart from the outbound itself."""
    return frozenset(
        (plugin.policy_type, policy.name)
        for plugin in PLUGINS
        for policy in ctx.mesh.policies_of(plugin.policy_type)
        if selects(target_ref(policy.fields), ctx.proxy)
    )


def _shared_outbound(ctx: ProxyContext, item: Outbound, sharing: _Sharing) -> _SharedOutbound:
    def build() -> _SharedOutbound:
        resources = ResourceSet()
        outbound.generate_one(ctx, item, resources)
        matched: dict[str, list[str]] = {}
        if sharing.plugins:  # what the plugins see: the proxy with this outbound alone
            alone = ProxyContext(ctx.mesh, ctx.proxy, ctx.identity, (item,), ctx.features, matched)
            _apply_policies(resources, alone, sharing.plugins)
        name = names.outbound_listener(item.address, item.port)
        listener = resources.pop(types.LISTENER, name)
        assert isinstance(listener, Listener)
        encoded = XdsResource.encode(name, listener)
        return _SharedOutbound(tuple(resources.encode()), encoded, item.address, matched)

    # Plain tuples as keys: they hash in C, and there are two lookups per outbound.
    mtls = ctx.identity is not None
    key = ("outbound", item.port, item.service, item.cluster, mtls, sharing.selecting, sharing.keys)
    return ctx.mesh.derived(key, build)


def _placed_listener(
    ctx: ProxyContext, item: Outbound, sharing: _Sharing, shared: _SharedOutbound
) -> XdsResource:
    if shared.address == item.address:
        return shared.listener

    def build() -> XdsResource:
        listener = outbound.placed(shared.listener.value, item)
        return XdsResource.encode(names.outbound_listener(item.address, item.port), listener)

    where = (item.address, item.port, item.service, item.cluster)
    key = ("outbound_listener", *where, ctx.identity is not None, sharing.selecting, sharing.keys)
    return ctx.mesh.derived(key, build)
