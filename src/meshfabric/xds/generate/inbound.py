"""Inbound listeners: accept mesh traffic for the application next to the proxy.

With mTLS the listener terminates it (and, in PERMISSIVE mode, also accepts plaintext on a
second filter chain chosen by the TLS inspector). HTTP services get an HTTP connection
manager that tells the application who called (the caller's SPIFFE ID in
x-forwarded-client-cert); others a TCP proxy.
"""

from __future__ import annotations

from envoy.config.listener.v3.listener_components_pb2 import Filter, FilterChain
from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2 import (  # noqa: E501
    HttpConnectionManager,
)

from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy import Inbound
from meshfabric.xds.model.proxy_context import ProxyContext


def generate(ctx: ProxyContext, resources: ResourceSet) -> None:
    for inbound in ctx.proxy.inbounds:
        cluster = names.local_cluster(inbound.service_port)
        resources.add(
            cluster, envoy.static_cluster(cluster, inbound.service_address, inbound.service_port)
        )
        name = names.inbound_listener(inbound.address, inbound.port)
        resources.add(name, _listener(ctx, inbound, name, cluster))
        if inbound.protocol.is_http:
            route = names.inbound_route(inbound.address, inbound.port)
            resources.add(route, envoy.route_to_cluster(route, cluster))


def _listener(ctx: ProxyContext, inbound: Inbound, name: str, cluster: str) -> Listener:
    mtls = ctx.mesh.mtls
    if ctx.identity is None or mtls is None:
        chain = envoy.filter_chain([_terminal_filter(inbound, name, cluster, mtls=False)])
        return envoy.listener(name, inbound.address, inbound.port, [chain])
    secure = envoy.filter_chain(
        [_terminal_filter(inbound, name, cluster, mtls=True)],
        transport_socket=envoy.downstream_mtls(
            names.identity_secret(ctx.mesh.name),
            names.ca_secret(ctx.mesh.name),
            peer_prefix=f"spiffe://{ctx.mesh.name}/",
        ),
        transport_protocol="tls" if mtls.permissive else "",
    )
    chains: list[FilterChain] = [secure]
    if mtls.permissive:
        plain = _terminal_filter(inbound, name, cluster, mtls=False)
        chains.append(envoy.filter_chain([plain], transport_protocol="raw_buffer"))
    return envoy.listener(name, inbound.address, inbound.port, chains, inspect_tls=mtls.permissive)


def _terminal_filter(inbound: Inbound, name: str, cluster: str, mtls: bool) -> Filter:
    if not inbound.protocol.is_http:
        return envoy.tcp_proxy(name, cluster)
    route = names.inbound_route(inbound.address, inbound.port)
    hcm = envoy.http_connection_manager(name, rds_name=route)
    if mtls:
        hcm.forward_client_cert_details = HttpConnectionManager.SANITIZE_SET
        hcm.set_current_client_cert_details.uri = True
    return envoy.network_filter(envoy.HCM_FILTER, hcm)
