"""Simulated proxies: many delta ADS streams from one process, each behaving like Envoy
(subscribe to clusters and listeners, then to the endpoints, routes and secrets they name,
ACK every response). Run as a child process so the control plane's memory is its own.

    python -m bench.ads_clients [--print-acks] TARGET TOKEN NODE_ID...

With --print-acks each ACK is printed as `NODE_ID MONOTONIC_SECONDS`: when the control plane
is another process, the clients are the ones who know when a proxy took a new config.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable

import grpc
from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.core.v3.base_pb2 import Node
from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2 import (  # noqa: E501
    HttpConnectionManager,
)
from envoy.extensions.transport_sockets.tls.v3.tls_pb2 import UpstreamTlsContext
from envoy.service.discovery.v3 import ads_pb2_grpc
from envoy.service.discovery.v3.discovery_pb2 import DeltaDiscoveryRequest, DeltaDiscoveryResponse
from google.protobuf import struct_pb2

CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
ROUTE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
SECRET = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"


def _named(response: DeltaDiscoveryResponse) -> dict[str, set[str]]:
    """The endpoints, routes and secrets the resources in a response refer to."""
    wanted: dict[str, set[str]] = {ENDPOINT: set(), ROUTE: set(), SECRET: set()}
    for item in response.resources:
        if response.type_url == CLUSTER:
            cluster = Cluster()
            item.resource.Unpack(cluster)
            if cluster.type == Cluster.EDS:
                wanted[ENDPOINT].add(cluster.name)
            if cluster.HasField("transport_socket"):
                tls = UpstreamTlsContext()
                cluster.transport_socket.typed_config.Unpack(tls)
                common = tls.common_tls_context
                wanted[SECRET].update(s.name for s in common.tls_certificate_sds_secret_configs)
                validation = common.combined_validation_context.validation_context_sds_secret_config
                if validation.name:
                    wanted[SECRET].add(validation.name)
        elif response.type_url == LISTENER:
            listener = Listener()
            item.resource.Unpack(listener)
            for chain in listener.filter_chains:
                for network in chain.filters:
                    if network.name.endswith("http_connection_manager"):
                        hcm = HttpConnectionManager()
                        network.typed_config.Unpack(hcm)
                        if hcm.HasField("rds"):
                            wanted[ROUTE].add(hcm.rds.route_config_name)
    return wanted


def print_ack(node_id: str) -> None:
    print(f"{node_id} {time.monotonic():.6f}", flush=True)


async def run_client(
    channel: grpc.aio.Channel,
    token: str,
    node_id: str,
    on_ack: Callable[[str], None] | None = None,
) -> None:
    stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
    outgoing: asyncio.Queue[DeltaDiscoveryRequest] = asyncio.Queue()
    mesh, _, name = node_id.partition(".")
    metadata = struct_pb2.Struct()
    metadata.update({"mesh": mesh, "name": name, "proxyType": "dataplane"})
    outgoing.put_nowait(
        DeltaDiscoveryRequest(node=Node(id=node_id, metadata=metadata), type_url=CLUSTER)
    )
    outgoing.put_nowait(DeltaDiscoveryRequest(type_url=LISTENER))
    subscribed: dict[str, set[str]] = {ENDPOINT: set(), ROUTE: set(), SECRET: set()}

    async def requests() -> AsyncIterator[DeltaDiscoveryRequest]:
        while True:
            yield await outgoing.get()

    call = stub.DeltaAggregatedResources(
        requests(), metadata=(("authorization", f"Bearer {token}"),)
    )
    async for response in call:
        for type_url, names in _named(response).items():
            new = names - subscribed[type_url]
            if new:
                subscribed[type_url] |= new
                outgoing.put_nowait(
                    DeltaDiscoveryRequest(type_url=type_url, resource_names_subscribe=sorted(new))
                )
        outgoing.put_nowait(
            DeltaDiscoveryRequest(type_url=response.type_url, response_nonce=response.nonce)
        )
        if on_ack is not None:
            on_ack(node_id)


async def main(
    target: str, token: str, node_ids: list[str], on_ack: Callable[[str], None] | None = None
) -> None:
    # One connection per 50 proxies: real proxies each have their own, and HTTP/2 servers
    # cap the streams one connection may carry.
    channels = [grpc.aio.insecure_channel(target) for _ in range(len(node_ids) // 50 + 1)]
    await asyncio.gather(
        *(
            run_client(channels[i % len(channels)], token, node, on_ack)
            for i, node in enumerate(node_ids)
        ),
        return_exceptions=True,
    )


if __name__ == "__main__":
    arguments = sys.argv[1:]
    report = print_ack if arguments[:1] == ["--print-acks"] else None
    if report is not None:
        arguments = arguments[1:]
    asyncio.run(main(arguments[0], arguments[1], arguments[2:], report))
