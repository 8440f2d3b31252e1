"""Translate MeshLoadBalancingStrategy `to` entries: `localityAwareness` into the outbound's
endpoints (localities, EDS priorities, overprovisioning factor: see `locality.py`),
`loadBalancer` into its cluster's algorithm, hash policies onto its HTTP routes.

The endpoints then depend on the client (its zone, its values of the affinity tags): the
plugin replaces the load assignment every client of the destination shares with its own,
built once per distinct plan and kept until the endpoints change.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence

from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.core.v3.base_pb2 import Locality as EnvoyLocality
from envoy.config.core.v3.base_pb2 import RuntimeDouble
from envoy.config.endpoint.v3.endpoint_pb2 import ClusterLoadAssignment
from envoy.config.route.v3.route_components_pb2 import RouteAction
from envoy.config.route.v3.route_pb2 import RouteConfiguration

from meshfabric.policies.core import selects, target_ref
from meshfabric.policies.meshloadbalancingstrategy.api import (
    TYPE,
    Conf,
    HashPolicy,
    LoadBalancer,
    Spec,
)
from meshfabric.policies.meshloadbalancingstrategy.locality import Locality, LocalityPlan, plan
from meshfabric.policies.targets import outbound_confs
from meshfabric.resources.common import decimal_of
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy.build import duration
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.endpoint import Endpoint
from meshfabric.xds.model.proxy import Proxy
from meshfabric.xds.model.proxy_context import ProxyContext

POLICY_TYPE = TYPE.name
LB_POLICIES = {
    "RoundRobin": Cluster.ROUND_ROBIN,
    "LeastRequest": Cluster.LEAST_REQUEST,
    "RingHash": Cluster.RING_HASH,
    "Random": Cluster.RANDOM,
    "Maglev": Cluster.MAGLEV,
}
HASH_FUNCTIONS = {
    "XXHash": Cluster.RingHashLbConfig.XX_HASH,
    "MurmurHash2": Cluster.RingHashLbConfig.MURMUR_HASH_2,
}
ACTIVE_REQUEST_BIAS_KEY = "upstream.least_request.active_request_bias"


class MeshLoadBalancingStrategyPlugin:
    policy_type = POLICY_TYPE
    order = 600
    rewrites_endpoints = True

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        for out, conf in outbound_confs(POLICY_TYPE, Spec, resources, ctx):
            if conf.loadBalancer is not None:
                configure_balancer(out.cluster, conf.loadBalancer)
            if out.route is not None:
                set_hash_policies(out.route, hash_policies(conf))
            locality = conf.localityAwareness
            found = plan(locality, ctx.mesh.zone, _tag_reader(ctx.proxy)) if locality else None
            if found is not None:
                if found.weighted:
                    out.cluster.common_lb_config.locality_weighted_lb_config.SetInParent()
                resources.add_shared(_load_assignment(ctx.mesh, out.outbound.cluster, found))

    def sharing_key(self, ctx: ProxyContext) -> Hashable:
        """The proxy's values of the affinity tags its policies name: all that its endpoints
        depend on besides the policies and its zone."""
        keys = {
            tag.key
            for policy in ctx.mesh.policies_of(POLICY_TYPE, Spec)
            if selects(target_ref(policy.fields), ctx.proxy)
            for item in policy.fields.to or []
            if (locality := item.default.localityAwareness) and locality.localZone
            for tag in locality.localZone.affinityTags or []
        }
        read = _tag_reader(ctx.proxy)
        return tuple((key, read(key)) for key in sorted(keys))


def configure_balancer(cluster: Cluster, balancer: LoadBalancer) -> None:
    cluster.lb_policy = LB_POLICIES[balancer.type]
    if balancer.type == "LeastRequest" and balancer.leastRequest is not None:
        least = balancer.leastRequest
        config = cluster.least_request_lb_config
        if least.choiceCount is not None:
            config.choice_count.value = least.choiceCount
        bias = decimal_of(least.activeRequestBias) if least.activeRequestBias is not None else None
        if bias is not None:
            config.active_request_bias.CopyFrom(
                RuntimeDouble(default_value=float(bias), runtime_key=ACTIVE_REQUEST_BIAS_KEY)
            )
    elif balancer.type == "RingHash" and balancer.ringHash is not None:
        ring = balancer.ringHash
        ring_config = cluster.ring_hash_lb_config
        if ring.minRingSize is not None:
            ring_config.minimum_ring_size.value = ring.minRingSize
        if ring.maxRingSize is not None:
            ring_config.maximum_ring_size.value = ring.maxRingSize
        if ring.hashFunction is not None:
            ring_config.hash_function = HASH_FUNCTIONS[ring.hashFunction]
    elif balancer.type == "Maglev" and balancer.maglev and balancer.maglev.tableSize is not None:
        cluster.maglev_lb_config.table_size.value = balancer.maglev.tableSize


def hash_policies(conf: Conf) -> list[HashPolicy]:
    """The policy's hash policies: at the top level, or (the older place) inside its
    ringHash or maglev settings; validation refuses both at once."""
    if conf.hashPolicies is not None:
        return conf.hashPolicies
    balancer = conf.loadBalancer
    hashing = balancer and (balancer.ringHash or balancer.maglev)
    return (hashing.hashPolicies if hashing else None) or []


def set_hash_policies(route_config: RouteConfiguration, policies: Sequence[HashPolicy]) -> None:
    if not policies:
        return
    translated = [hash_policy(policy) for policy in policies]
    for virtual_host in route_config.virtual_hosts:
        for route in virtual_host.routes:
            del route.route.hash_policy[:]
            route.route.hash_policy.extend(translated)


def hash_policy(policy: HashPolicy) -> RouteAction.HashPolicy:
    translated = RouteAction.HashPolicy(terminal=bool(policy.terminal))
    if policy.type == "Header" and policy.header is not None:
        translated.header.header_name = policy.header.name
    elif policy.type == "Cookie" and policy.cookie is not None:
        translated.cookie.name = policy.cookie.name
        if policy.cookie.ttl is not None:
            translated.cookie.ttl.CopyFrom(duration(policy.cookie.ttl))
        if policy.cookie.path is not None:
            translated.cookie.path = policy.cookie.path
    elif policy.type == "QueryParameter" and policy.queryParameter is not None:
        translated.query_parameter.name = policy.queryParameter.name
    elif policy.type == "FilterState" and policy.filterState is not None:
        translated.filter_state.key = policy.filterState.key
    elif policy.type == "SourceIP":
        translated.connection_properties.source_ip = True
    elif policy.type == "Connection" and policy.connection is not None:
        translated.connection_properties.source_ip = bool(policy.connection.sourceIP)
    return translated


def _load_assignment(mesh: MeshContext, cluster: str, found: LocalityPlan) -> XdsResource:
    def build() -> XdsResource:
        placed = found.place(mesh.endpoints(cluster), lambda endpoint: _tags(mesh, endpoint))
        return XdsResource.encode(cluster, load_assignment(cluster, placed, found))

    return mesh.derived_from_endpoints(("locality_load_assignment", cluster, found), build)


def load_assignment(
    cluster: str, placed: Mapping[Locality, Sequence[Endpoint]], found: LocalityPlan
) -> ClusterLoadAssignment:
    assignment = ClusterLoadAssignment(cluster_name=cluster)
    for locality, endpoints in placed.items():
        group = assignment.endpoints.add(
            locality=EnvoyLocality(zone=locality.zone, sub_zone=locality.sub_zone),
            priority=locality.priority,
        )
        group.load_balancing_weight.value = locality.weight
        for endpoint in endpoints:
            address = envoy.socket_address(endpoint.address, endpoint.port)
            group.lb_endpoints.add().endpoint.address.CopyFrom(address)
    if found.overprovisioning_factor is not None:
        assignment.policy.overprovisioning_factor.value = found.overprovisioning_factor
    return assignment


def _tag_reader(proxy: Proxy) -> Callable[[str], str | None]:
    """A client's value of a tag: from its inbounds' tags, else from its labels (as Kuma)."""

    def read(key: str) -> str | None:
        for inbound in proxy.inbounds:
            if key in inbound.tags:
                return inbound.tags[key]
        return proxy.labels.get(key)

    return read


def _tags(mesh: MeshContext, endpoint: Endpoint) -> Mapping[str, str]:
    """The tags of the inbound behind a local endpoint, over its dataplane's labels."""
    proxy = mesh.proxy(endpoint.dataplane)
    if proxy is None:
        return {}
    inbound = next(
        (i for i in proxy.inbounds if (i.address, i.port) == (endpoint.address, endpoint.port)),
        None,
    )
    return {**proxy.labels, **(inbound.tags if inbound else {})}


PLUGIN = MeshLoadBalancingStrategyPlugin()
