"""Outbound listeners and clusters: how the application reaches the services it may call.

Each outbound of the Dataplane gets a listener on its address and port, HTTP or TCP by the
protocol the target service declares, and a cluster whose endpoints come by EDS. A service's
endpoints are the same for every client, so its ClusterLoadAssignment is built once per
mesh change and shared by all of them.
"""

from __future__ import annotations

from envoy.config.cluster.v3.cluster_pb2 import Cluster

from meshfabric.ca import spiffe_id
from meshfabric.xds import envoy, names
from meshfabric.xds.cache import XdsResource
from meshfabric.xds.context import MeshContext
from meshfabric.xds.generators.context import ProxyContext
from meshfabric.xds.proxy import Outbound
from meshfabric.xds.resource_set import ResourceSet


def generate(ctx: ProxyContext, resources: ResourceSet) -> None:
    for outbound in ctx.proxy.outbounds:
        _outbound(ctx, outbound, resources)


def _outbound(ctx: ProxyContext, outbound: Outbound, resources: ResourceSet) -> None:
    service = outbound.service
    cluster = names.service_cluster(service)
    resources.add(cluster, _cluster(ctx, service, cluster))
    resources.add_shared(shared_load_assignment(ctx.mesh, service))
    name = names.outbound_listener(outbound.address, outbound.port)
    if ctx.mesh.protocol(service).is_http:
        route_name = names.outbound_route(service)
        resources.add(route_name, envoy.route_to_cluster(route_name, cluster))
        hcm = envoy.http_connection_manager(name, rds_name=route_name)
        terminal = envoy.network_filter(envoy.HCM_FILTER, hcm)
    else:
        terminal = envoy.tcp_proxy(name, cluster)
    chain = envoy.filter_chain([terminal])
    resources.add(name, envoy.listener(name, outbound.address, outbound.port, [chain]))


def _cluster(ctx: ProxyContext, service: str, cluster: str) -> Cluster:
    if ctx.identity is None:
        return envoy.eds_cluster(cluster)
    mesh = ctx.mesh.name
    tls = envoy.upstream_mtls(
        names.identity_secret(mesh),
        names.ca_secret(mesh),
        peer_identity=spiffe_id(mesh, service),
        sni=names.sni(service, mesh),
    )
    return envoy.eds_cluster(cluster, tls)


def shared_load_assignment(mesh: MeshContext, service: str) -> XdsResource:
    """The service's endpoints, encoded once per mesh change for every client of it."""
    cluster = names.service_cluster(service)

    def build() -> XdsResource:
        endpoints = [(e.address, e.port) for e in mesh.endpoints(service)]
        return XdsResource.encode(cluster, envoy.load_assignment(cluster, endpoints))

    return mesh.derived(("load_assignment", service), build)
