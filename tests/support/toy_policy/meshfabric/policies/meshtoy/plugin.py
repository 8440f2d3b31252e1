"""MeshToy's plugin: sets the buffer limit on the cluster of each outbound it selects."""

from __future__ import annotations

from meshfabric.policies.meshtoy.api import TYPE, Spec
from meshfabric.policies.targets import outbound_confs
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext


class MeshToyPlugin:
    policy_type = TYPE.name
    order = 9000

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        for out, conf in outbound_confs(TYPE.name, Spec, resources, ctx):
            out.cluster.per_connection_buffer_limit_bytes.value = conf.bufferLimitBytes


PLUGIN = MeshToyPlugin()
