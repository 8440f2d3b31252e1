"""The proxy's side of registration: tell the control plane which Dataplane it runs."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import grpc
from google.protobuf.message import Message

from meshfabric.dataplane_api.registration import DEREGISTER_METHOD, REGISTER_METHOD
from meshfabric.dataplane_api.registration_pb2 import (
    DeregisterRequest,
    DeregisterResponse,
    RegisterRequest,
    RegisterResponse,
)
from meshfabric.dp.address import ControlPlaneAddress

log = logging.getLogger(__name__)

# Worth retrying: the control plane is starting, restarting or briefly unreachable.
_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class RegistrationRefused(Exception):
    """The control plane said no; the message is its reason."""


class Unreachable(Exception):
    """No control plane answered at the address within the wait."""


class UntrustedControlPlane(Exception):
    """The control plane's certificate does not chain to the CA we were given: no retry helps."""


class ControlPlaneClient:
    def __init__(self, address: ControlPlaneAddress, token: str, timeout: float = 10) -> None:
        self._address = address
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._timeout = timeout

    async def register(
        self, dataplane: Mapping[str, Any], proxy_type: str, wait_seconds: float
    ) -> None:
        """Register, retrying while the control plane is unreachable for up to wait_seconds."""
        deadline = time.monotonic() + wait_seconds
        delay = 0.2
        while True:
            try:
                request = RegisterRequest(
                    dataplane=json.dumps(dict(dataplane)), proxy_type=proxy_type
                )
                await self._call(REGISTER_METHOD, request, RegisterResponse)
                return
            except grpc.aio.AioRpcError as error:
                raise_if_untrusted(error, self._address)
                if error.code() not in _TRANSIENT:
                    raise RegistrationRefused(_describe(error)) from None
                if time.monotonic() + delay > deadline:
                    raise Unreachable(
                        f"could not connect to the control plane at {self._address} "
                        f"within {wait_seconds:g}s: {error.details()}"
                    ) from None
                log.info("control plane %s not reachable yet, retrying", self._address)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def deregister(self, mesh: str, name: str, proxy_type: str) -> None:
        try:
            request = DeregisterRequest(mesh=mesh, name=name, proxy_type=proxy_type)
            await self._call(DEREGISTER_METHOD, request, DeregisterResponse)
        except grpc.aio.AioRpcError as error:
            raise RegistrationRefused(_describe(error)) from None

    async def _call(self, method: str, request: Message, response: type[Message]) -> None:
        async with channel(self._address) as open_channel:
            call = open_channel.unary_unary(
                method,
                request_serializer=request.__class__.SerializeToString,
                response_deserializer=response.FromString,
            )
            await call(request, metadata=self._metadata, timeout=self._timeout)


def channel(address: ControlPlaneAddress) -> grpc.aio.Channel:
    if not address.tls:
        return grpc.aio.insecure_channel(address.grpc_target)
    trust = grpc.ssl_channel_credentials(root_certificates=address.ca_cert_pem.encode())
    return grpc.aio.secure_channel(address.grpc_target, trust)


def raise_if_untrusted(error: grpc.aio.AioRpcError, address: ControlPlaneAddress) -> None:
    # gRPC reports a failed handshake as UNAVAILABLE, like a control plane that is not up yet.
    details = error.details() or ""
    if address.tls and "CERTIFICATE_VERIFY_FAILED" in details:
        raise UntrustedControlPlane(
            f"the certificate of {address} is not signed by the CA of --ca-cert-file ({details})"
        )


def _describe(error: grpc.aio.AioRpcError) -> str:
    return f"{error.details()} ({error.code().name})"
