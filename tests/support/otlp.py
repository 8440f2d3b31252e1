"""An OTLP/gRPC receiver's server for tests, built on the OTLP messages xds-protos ships.

Those messages come with no servicers (and opentelemetry-proto, which has them, is nothing
this project asks for), so a service's `Export` is served through a generic gRPC handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

__all__ = ["serve_export"]

Request = TypeVar("Request", bound=Message)


@contextmanager
def serve_export(
    service: str,
    request_type: type[Request],
    export: Callable[[Request, Any], Message],
) -> Iterator[int]:
    """A gRPC server on a free loopback port answering `service`'s Export with `export`;
    yields the port and stops the server on exit."""
    handler = grpc.unary_unary_rpc_method_handler(
        export,
        request_deserializer=request_type.FromString,
        response_serializer=lambda response: response.SerializeToString(),
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {"Export": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(None)
