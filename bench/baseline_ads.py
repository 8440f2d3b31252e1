"""A minimal hand-written delta ADS server: the yardstick for the real one.

It keeps one version counter, rebuilds every proxy's resources from a plain description on
each change and sends each proxy everything again; no store, no events, no hashing, no mTLS,
no policies. Whatever meshfabric spends beyond this is the price of what it does.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.core.v3.address_pb2 import Address, SocketAddress
from envoy.config.core.v3.config_source_pb2 import (
    AggregatedConfigSource,
    ApiVersion,
    ConfigSource,
)
from envoy.config.endpoint.v3.endpoint_components_pb2 import (
    Endpoint,
    LbEndpoint,
    LocalityLbEndpoints,
)
from envoy.config.endpoint.v3.endpoint_pb2 import ClusterLoadAssignment
from envoy.config.listener.v3.listener_components_pb2 import Filter, FilterChain
from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2 import TcpProxy
from envoy.service.discovery.v3 import ads_pb2_grpc
from envoy.service.discovery.v3.discovery_pb2 import (
    DeltaDiscoveryRequest,
    DeltaDiscoveryResponse,
    Resource,
)
from google.protobuf import any_pb2
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message

CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"


@dataclass(frozen=True)
class ProxySpec:
    node_id: str
    address: str
    outbounds: tuple[tuple[int, str], ...]  # (port, service)


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _address(host: str, port: int) -> Address:
    return Address(socket_address=SocketAddress(address=host, port_value=port))


def build(
    proxy: ProxySpec, endpoints: dict[str, list[tuple[str, int]]]
) -> dict[str, dict[str, any_pb2.Any]]:
    """Every resource of one proxy: per outbound an EDS cluster, its endpoints, a TCP listener."""
    ads = ConfigSource(ads=AggregatedConfigSource(), resource_api_version=ApiVersion.V3)
    resources: dict[str, dict[str, any_pb2.Any]] = {CLUSTER: {}, ENDPOINT: {}, LISTENER: {}}
    for port, service in proxy.outbounds:
        resources[CLUSTER][service] = _pack(
            Cluster(
                name=service,
                type=Cluster.EDS,
                connect_timeout=Duration(seconds=5),
                eds_cluster_config=Cluster.EdsClusterConfig(eds_config=ads),
            )
        )
        resources[ENDPOINT][service] = _pack(
            ClusterLoadAssignment(
                cluster_name=service,
                endpoints=[
                    LocalityLbEndpoints(
                        lb_endpoints=[
                            LbEndpoint(endpoint=Endpoint(address=_address(host, p)))
                            for host, p in endpoints.get(service, [])
                        ]
                    )
                ],
            )
        )
        name = f"outbound:{proxy.address}:{port}"
        tcp = TcpProxy(stat_prefix=service, cluster=service)
        resources[LISTENER][name] = _pack(
            Listener(
                name=name,
                address=_address(proxy.address, port),
                filter_chains=[
                    FilterChain(
                        filters=[
                            Filter(name="envoy.filters.network.tcp_proxy", typed_config=_pack(tcp))
                        ]
                    )
                ],
            )
        )
    return resources


class BaselineAds(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.proxies: dict[str, ProxySpec] = {}
        self.endpoints: dict[str, list[tuple[str, int]]] = {}
        self._version = itertools.count(1)
        self._streams: dict[str, asyncio.Queue[None]] = {}
        self.on_ack: Callable[[str, float], None] = lambda node, at: None

    def change_endpoints(self, service: str, endpoints: list[tuple[str, int]]) -> None:
        self.endpoints[service] = endpoints
        for queue in self._streams.values():
            queue.put_nowait(None)

    async def DeltaAggregatedResources(
        self, requests: AsyncIterator[DeltaDiscoveryRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[DeltaDiscoveryResponse]:
        first = await anext(aiter(requests))
        node_id = first.node.id
        wake: asyncio.Queue[None] = asyncio.Queue()
        self._streams[node_id] = wake
        pending: set[str] = set()

        async def read() -> None:
            async for request in requests:
                if request.resource_names_subscribe:
                    wake.put_nowait(None)  # Envoy asks for endpoints once it has clusters
                if request.response_nonce in pending:
                    pending.discard(request.response_nonce)
                    if not pending:
                        self.on_ack(node_id, time.monotonic())

        reader = asyncio.create_task(read())
        wake.put_nowait(None)
        try:
            while True:
                await wake.get()
                version = str(next(self._version))
                for type_url, items in build(self.proxies[node_id], self.endpoints).items():
                    nonce = f"{version}-{type_url[-8:]}"
                    pending.add(nonce)
                    yield DeltaDiscoveryResponse(
                        type_url=type_url,
                        nonce=nonce,
                        system_version_info=version,
                        resources=[
                            Resource(name=n, version=version, resource=body)
                            for n, body in items.items()
                        ],
                    )
        finally:
            reader.cancel()
            self._streams.pop(node_id, None)
