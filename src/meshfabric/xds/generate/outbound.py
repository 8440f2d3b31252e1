"""Outbound listeners and clusters: how the application reaches the services it may call.

Each outbound (one the Dataplane declares, or a MeshService VIP and port) gets a listener on
its address and port, HTTP or TCP by its destination's protocol, and a cluster whose
endpoints come by EDS. A destination's endpoints are the same for every client, so its
ClusterLoadAssignment is built once per mesh change and shared by all of them.
"""

from __future__ import annotations

import functools

from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2 import (  # noqa: E501
    HttpConnectionManager,
)
from envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2 import TcpProxy

from meshfabric.ca import spiffe_id
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.generate import failover
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.destinations import Destination
from meshfabric.xds.model.proxy import Outbound
from meshfabric.xds.model.proxy_context import ProxyContext

# Every outbound's cluster and route, hardened once and copied (one each per outbound).
_HARDENED_CLUSTER = envoy.eds_cluster("")
failover.harden_cluster(_HARDENED_CLUSTER)
_HARDENED_ROUTE = envoy.route_to_cluster("", "")
failover.harden_routes(_HARDENED_ROUTE)


def generate(ctx: ProxyContext, resources: ResourceSet) -> None:
    for outbound in ctx.outbounds:
        generate_one(ctx, outbound, resources)


def generate_one(ctx: ProxyContext, outbound: Outbound, resources: ResourceSet) -> None:
    """One outbound of the proxy: what it builds depends on the mesh, the proxy's identity
    and the outbound alone."""
    destination = ctx.mesh.destination(outbound)
    cluster = outbound.cluster
    resources.add(cluster, _cluster(ctx, destination))
    resources.add_shared(shared_load_assignment(ctx.mesh, cluster))
    name = names.outbound_listener(outbound.address, outbound.port)
    config: HttpConnectionManager | TcpProxy
    if destination.protocol.is_http:
        route_name = names.outbound_route(cluster)
        resources.add(route_name, envoy.route_to_cluster(route_name, cluster, _HARDENED_ROUTE))
        terminal = envoy.HCM_FILTER
        config = envoy.http_connection_manager(name, rds_name=route_name)
    else:
        config = TcpProxy(stat_prefix=name, cluster=cluster)
        failover.harden_tcp(config)
        terminal = envoy.TCP_PROXY_FILTER
    listener = envoy.single_filter_listener(name, outbound.address, outbound.port, terminal, config)
    resources.add(name, listener)


def placed(template: bytes, outbound: Outbound) -> Listener:
    """An outbound listener generated for another address (serialized), moved to this
    outbound's address and renamed (its stat prefixes carry the name)."""
    listener = Listener.FromString(template)
    name = names.outbound_listener(outbound.address, outbound.port)
    listener.name = name
    listener.stat_prefix = envoy.stat_prefix(name)
    listener.address.socket_address.address = outbound.address

    def rename(config: HttpConnectionManager | TcpProxy) -> None:
        config.stat_prefix = name

    envoy.edit_filters(listener, envoy.HCM_FILTER, HttpConnectionManager, rename)
    envoy.edit_filters(listener, envoy.TCP_PROXY_FILTER, TcpProxy, rename)
    return listener


def _cluster(ctx: ProxyContext, destination: Destination) -> Cluster:
    cluster = Cluster()
    if ctx.identity is None or not destination.identities:
        # No mTLS, or a destination outside the mesh (no identity to check).
        cluster.CopyFrom(_cluster_template(destination.cluster, "", "", ()))
    else:
        cluster.CopyFrom(
            _cluster_template(
                destination.cluster,
                ctx.mesh.name,
                destination.sni_service,
                destination.identities,
            )
        )
    return cluster


@functools.lru_cache(maxsize=8192)
def _cluster_template(
    name: str, mesh: str, sni_service: str, identities: tuple[str, ...]
) -> Cluster:
    """The hardened cluster of a destination, with mTLS to its instances unless `mesh` is
    empty: whether local or behind another zone's ingress, the SNI is what that ingress
    routes on, the SAN check is the service's own SPIFFE ID either way.

    A function of these names alone, and the mTLS part costlier than the rest of the
    cluster: kept per destination across regenerations, shared, so copied, never edited."""
    if not mesh:
        return envoy.eds_cluster(name, template=_HARDENED_CLUSTER)
    mtls = envoy.upstream_mtls(
        names.identity_secret(mesh),
        names.ca_secret(mesh),
        peer_identities=[spiffe_id(mesh, service) for service in identities],
        sni=names.sni(sni_service, mesh),
    )
    return envoy.eds_cluster(name, mtls, _HARDENED_CLUSTER)


def shared_load_assignment(mesh: MeshContext, cluster: str) -> XdsResource:
    """The destination's endpoints, encoded for every client of it once per change of the
    mesh's dataplanes or MeshServices."""

    def build() -> XdsResource:
        endpoints = [(e.address, e.port, e.priority) for e in mesh.endpoints(cluster)]
        return XdsResource.encode(cluster, envoy.prioritized_load_assignment(cluster, endpoints))

    return mesh.derived_from_endpoints(("load_assignment", cluster), build)
