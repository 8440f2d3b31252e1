"""The KDS service: one gRPC connection per zone, opened by the zone, carrying two streams,
and a third for Envoy admin requests that global forwards to the zone.

`GlobalToZoneSync`: the zone subscribes (DeltaDiscoveryRequest) and global answers with
resources (DeltaDiscoveryResponse). `ZoneToGlobalSync`: the roles flip on the stream the zone
opened, global subscribes and the zone answers. The service is registered by hand, with the
Envoy messages as its types, so no generated code is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import grpc
from envoy.service.discovery.v3.discovery_pb2 import (
    DeltaDiscoveryRequest,
    DeltaDiscoveryResponse,
)

from meshfabric.dataplane_api.envoy_admin_pb2 import AdminRequest, ProxyMessage
from meshfabric.metrics import KDS_STREAMS
from meshfabric.ports import GRPC_EXCLUSIVE_PORT

T = TypeVar("T")

SERVICE = "meshfabric.kds.v1.KdsSync"
GLOBAL_TO_ZONE = "GlobalToZoneSync"
ZONE_TO_GLOBAL = "ZoneToGlobalSync"
# Global's Envoy admin requests to the zone, the zone's replies (meshfabric.kds.envoy_admin).
ENVOY_ADMIN = "EnvoyAdmin"

# gRPC metadata a zone sends when it opens a stream.
ZONE_NAME_HEADER = "client-id"
AUTHORIZATION_HEADER = "authorization"
VERSION_HEADER = "meshfabric-version"

GlobalToZoneHandler = Callable[
    [AsyncIterator[DeltaDiscoveryRequest], grpc.aio.ServicerContext],
    AsyncIterator[DeltaDiscoveryResponse],
]
ZoneToGlobalHandler = Callable[
    [AsyncIterator[DeltaDiscoveryResponse], grpc.aio.ServicerContext],
    AsyncIterator[DeltaDiscoveryRequest],
]
EnvoyAdminHandler = Callable[
    [AsyncIterator[ProxyMessage], grpc.aio.ServicerContext], AsyncIterator[AdminRequest]
]


# Application-level liveness: global pings each zone on its global-to-zone stream and the
# zone answers like any response; a side that hears nothing for SILENCE_S drops the stream
# (a stopped process, a half-dead link behind a load balancer), well inside 10 s.
PING_TYPE_URL = "meshfabric.io/kds.Ping"
PING_INTERVAL_S = 2.0
SILENCE_S = 7.0


def channel_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    """Options of the zone's channel and of global's server alike."""
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


def server_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    return [*channel_options(max_message_bytes), GRPC_EXCLUSIVE_PORT]


def zone_channel_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    return [
        *channel_options(max_message_bytes),
        # A connection attempt that hangs (global stopped mid-handshake) gives up after 1 s,
        # not gRPC's default 20 s, so the zone's own backoff decides when it tries again.
        ("grpc.min_reconnect_backoff_ms", 1000),
        ("grpc.max_reconnect_backoff_ms", 1000),
    ]


def service_handler(
    global_to_zone: GlobalToZoneHandler,
    zone_to_global: ZoneToGlobalHandler,
    envoy_admin: EnvoyAdminHandler,
) -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            GLOBAL_TO_ZONE: grpc.stream_stream_rpc_method_handler(
                global_to_zone,
                request_deserializer=DeltaDiscoveryRequest.FromString,
                response_serializer=DeltaDiscoveryResponse.SerializeToString,
            ),
            ZONE_TO_GLOBAL: grpc.stream_stream_rpc_method_handler(
                zone_to_global,
                request_deserializer=DeltaDiscoveryResponse.FromString,
                response_serializer=DeltaDiscoveryRequest.SerializeToString,
            ),
            ENVOY_ADMIN: grpc.stream_stream_rpc_method_handler(
                envoy_admin,
                request_deserializer=ProxyMessage.FromString,
                response_serializer=AdminRequest.SerializeToString,
            ),
        },
    )


def global_to_zone_stub(channel: grpc.aio.Channel) -> grpc.aio.StreamStreamMultiCallable:
    return channel.stream_stream(
        f"/{SERVICE}/{GLOBAL_TO_ZONE}",
        request_serializer=DeltaDiscoveryRequest.SerializeToString,
        response_deserializer=DeltaDiscoveryResponse.FromString,
    )


def zone_to_global_stub(channel: grpc.aio.Channel) -> grpc.aio.StreamStreamMultiCallable:
    return channel.stream_stream(
        f"/{SERVICE}/{ZONE_TO_GLOBAL}",
        request_serializer=DeltaDiscoveryResponse.SerializeToString,
        response_deserializer=DeltaDiscoveryRequest.FromString,
    )


def envoy_admin_stub(channel: grpc.aio.Channel) -> grpc.aio.StreamStreamMultiCallable:
    return channel.stream_stream(
        f"/{SERVICE}/{ENVOY_ADMIN}",
        request_serializer=ProxyMessage.SerializeToString,
        response_deserializer=AdminRequest.FromString,
    )


class Silent(Exception):
    """The peer sent nothing for SILENCE_S: the stream is taken for dead."""


async def until_silent(messages: AsyncIterator[T], peer: str) -> AsyncIterator[T]:
    """The messages, or Silent once the peer has said nothing for SILENCE_S."""
    iterator = aiter(messages)
    while True:
        try:
            message = await asyncio.wait_for(anext(iterator), SILENCE_S)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise Silent(f"{peer} sent nothing for {SILENCE_S:.0f}s") from None
        yield message


@contextmanager
def open_stream(zone: str, stream: str) -> Iterator[None]:
    """Counts the stream in meshfabric_kds_open_streams while the block runs."""
    gauge = KDS_STREAMS.labels(zone, stream)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
