"""The sidecar profile: generators build a proxy's resources, then policy plugins edit them."""

from __future__ import annotations

import time

from meshfabric.metrics import XDS_GENERATION_SECONDS
from meshfabric.policies.registry import PLUGINS
from meshfabric.xds.cache import Snapshot
from meshfabric.xds.generators import inbound, outbound, secrets
from meshfabric.xds.generators.context import ProxyContext
from meshfabric.xds.resource_set import ResourceSet

GENERATORS = (secrets.generate, inbound.generate, outbound.generate)


def build_resources(ctx: ProxyContext) -> ResourceSet:
    resources = ResourceSet()
    for generator in GENERATORS:
        generator(ctx, resources)
    for plugin in PLUGINS:
        plugin.apply(resources, ctx)
    return resources


def generate_snapshot(ctx: ProxyContext) -> Snapshot:
    started = time.perf_counter()
    snapshot = Snapshot.of(build_resources(ctx).encode())
    XDS_GENERATION_SECONDS.observe(time.perf_counter() - started)
    return snapshot
