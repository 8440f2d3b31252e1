"""The DNS listener: Envoy's UDP DNS filter answers the mesh's hostnames with their VIPs.

The table is the same for every proxy of a mesh, so each distinct listener (mesh, address)
is encoded once per mesh change. Any other name is resolved as the host resolves it: c-ares
reads the host's /etc/hosts, then asks the nameservers of its /etc/resolv.conf, over TCP, so
that its queries pass a host whose UDP port 53 is redirected to this listener
(`meshfabric-dp run --redirect-dns`) without coming back to it.
"""

from __future__ import annotations

from collections.abc import Mapping

from envoy.config.core.v3.address_pb2 import SocketAddress
from envoy.config.core.v3.extension_pb2 import TypedExtensionConfig
from envoy.config.core.v3.resolver_pb2 import DnsResolverOptions
from envoy.config.listener.v3.listener_components_pb2 import ListenerFilter
from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.data.dns.v3.dns_table_pb2 import DnsTable
from envoy.extensions.filters.udp.dns_filter.v3.dns_filter_pb2 import DnsFilterConfig
from envoy.extensions.network.dns_resolver.cares.v3.cares_dns_resolver_pb2 import (
    CaresDnsResolverConfig,
)

from meshfabric.dataplane_api.node import DnsAddress
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext

DNS_FILTER = "envoy.filters.udp.dns_filter"
TTL_SECONDS = 30
CARES_RESOLVER = "envoy.network.dns_resolver.cares"
RESOLVER_TIMEOUT_SECONDS = 5
MAX_PENDING_LOOKUPS = 256


def generate(ctx: ProxyContext, resources: ResourceSet) -> None:
    records = ctx.mesh.dns_records()
    dns = ctx.features.dns
    if dns is None or not records:
        return

    def build() -> XdsResource:
        return XdsResource.encode(names.dns_listener(), _listener(dns, records))

    resources.add_shared(ctx.mesh.derived(("dns", dns), build))


def _listener(dns: DnsAddress, records: Mapping[str, str]) -> Listener:
    table = DnsTable(
        virtual_domains=[
            DnsTable.DnsVirtualDomain(
                name=hostname,
                endpoint=DnsTable.DnsEndpoint(address_list=DnsTable.AddressList(address=[vip])),
                answer_ttl=envoy.seconds(TTL_SECONDS),
            )
            for hostname, vip in sorted(records.items())
        ]
    )
    config = DnsFilterConfig(
        stat_prefix="mesh_dns",
        server_config=DnsFilterConfig.ServerContextConfig(inline_dns_table=table),
        client_config=_host_resolver(),
    )
    listener = Listener(
        name=names.dns_listener(),
        address=envoy.socket_address(dns.address, dns.port),
        listener_filters=[ListenerFilter(name=DNS_FILTER, typed_config=envoy.pack(config))],
    )
    listener.address.socket_address.protocol = SocketAddress.UDP
    return listener


def _host_resolver() -> DnsFilterConfig.ClientContextConfig:
    """Where names outside the table go: the host's own resolver configuration, over TCP."""
    resolver = CaresDnsResolverConfig(
        dns_resolver_options=DnsResolverOptions(use_tcp_for_dns_lookups=True)
    )
    return DnsFilterConfig.ClientContextConfig(
        resolver_timeout=envoy.seconds(RESOLVER_TIMEOUT_SECONDS),
        typed_dns_resolver_config=TypedExtensionConfig(
            name=CARES_RESOLVER, typed_config=envoy.pack(resolver)
        ),
        max_pending_lookups=MAX_PENDING_LOOKUPS,
    )
