"""The DNS listener: Envoy's UDP DNS filter answers the mesh's hostnames with their VIPs.

The table is the same for every proxy of a mesh, so each distinct listener (mesh, address)
is encoded once per mesh change. Names outside the table are not forwarded anywhere: the
application's resolver should ask this listener first and fall back to its usual servers.
"""

from __future__ import annotations

from collections.abc import Mapping

from envoy.config.core.v3.address_pb2 import SocketAddress
from envoy.config.listener.v3.listener_components_pb2 import ListenerFilter
from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.data.dns.v3.dns_table_pb2 import DnsTable
from envoy.extensions.filters.udp.dns_filter.v3.dns_filter_pb2 import DnsFilterConfig

from meshfabric.dataplane_api.node import DnsAddress
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext

DNS_FILTER = "envoy.filters.udp.dns_filter"
TTL_SECONDS = 30


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
    )
    listener = Listener(
        name=names.dns_listener(),
        address=envoy.socket_address(dns.address, dns.port),
        listener_filters=[ListenerFilter(name=DNS_FILTER, typed_config=envoy.pack(config))],
    )
    listener.address.socket_address.protocol = SocketAddress.UDP
    return listener
