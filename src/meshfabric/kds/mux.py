"""The KDS service: one gRPC connection per zone, opened by the zone, carrying two streams.

`GlobalToZoneSync`: the zone subscribes (DeltaDiscoveryRequest) and global answers with
resources (DeltaDiscoveryResponse). `ZoneToGlobalSync`: the roles flip on the stream the zone
opened, global subscribes and the zone answers. The service is registered by hand, with the
Envoy messages as its types, so no generated code is needed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from envoy.service.discovery.v3.discovery_pb2 import (
    DeltaDiscoveryRequest,
    DeltaDiscoveryResponse,
)

SERVICE = "meshfabric.kds.v1.KdsSync"
GLOBAL_TO_ZONE = "GlobalToZoneSync"
ZONE_TO_GLOBAL = "ZoneToGlobalSync"

# gRPC metadata a zone sends when it opens a stream.
ZONE_NAME_HEADER = "client-id"
AUTHORIZATION_HEADER = "authorization"
VERSION_HEADER = "meshfabric-version"

DEFAULT_PORT = 5685

GlobalToZoneHandler = Callable[
    [AsyncIterator[DeltaDiscoveryRequest], grpc.aio.ServicerContext],
    AsyncIterator[DeltaDiscoveryResponse],
]
ZoneToGlobalHandler = Callable[
    [AsyncIterator[DeltaDiscoveryResponse], grpc.aio.ServicerContext],
    AsyncIterator[DeltaDiscoveryRequest],
]


def channel_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


def service_handler(
    global_to_zone: GlobalToZoneHandler, zone_to_global: ZoneToGlobalHandler
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
