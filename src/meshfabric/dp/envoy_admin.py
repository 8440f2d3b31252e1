"""The proxy's side of the Envoy admin tunnel: answer the control plane from the local admin.

meshfabric-dp keeps the tunnel open while it runs and reopens it, backing off, when the
control plane goes away. Only the three reads of `ENVOY_PATHS` are served, never
Envoy's other admin endpoints (which change state); the dataplane token, which Envoy's
config dump shows in the bootstrap, is redacted from every reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx

from meshfabric.dataplane_api.envoy_admin import (
    ENVOY_PATHS,
    OPEN_METHOD,
    REDACTED,
    AdminAnswer,
    chunks,
)
from meshfabric.dataplane_api.envoy_admin_pb2 import (
    AdminReply,
    AdminRequest,
    Hello,
    ProxyMessage,
)
from meshfabric.dp.address import ControlPlaneAddress
from meshfabric.dp.registration import UntrustedControlPlane, channel, raise_if_untrusted

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 5.0
ADMIN_TIMEOUT = 4.0  # under the control plane's wait for the reply


class EnvoyAdmin:
    """Envoy's admin endpoint: a Unix socket, or a port on 127.0.0.1 (an Envoy Address)."""

    def __init__(self, address: dict[str, Any]) -> None:
        if "pipe" in address:
            transport = httpx.AsyncHTTPTransport(uds=address["pipe"]["path"])
            self._client = httpx.AsyncClient(
                transport=transport, base_url="http://envoy", timeout=ADMIN_TIMEOUT
            )
            self.described = f"unix://{address['pipe']['path']}"
        else:
            socket = address["socket_address"]
            self.described = f"http://{socket['address']}:{socket['port_value']}"
            self._client = httpx.AsyncClient(base_url=self.described, timeout=ADMIN_TIMEOUT)

    async def get(self, request: AdminRequest) -> httpx.Response:
        params = {"include_eds": ""} if request.include_eds else {}
        return await self._client.get(ENVOY_PATHS[request.kind], params=params)

    async def stats_prometheus(self, used_only: bool) -> httpx.Response:
        """Envoy's stats in Prometheus' text format (for the metrics server)."""
        return await self._client.get(
            "/stats/prometheus", params={"usedonly": ""} if used_only else {}
        )

    async def aclose(self) -> None:
        await self._client.aclose()


class EnvoyAdminTunnel:
    def __init__(
        self, address: ControlPlaneAddress, token: str, hello: Hello, admin: EnvoyAdmin
    ) -> None:
        self._address = address
        self._token = token
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._hello = hello
        self._admin = admin

    async def run(self) -> None:
        """Keep the tunnel open until cancelled."""
        delay = 0.2
        last_problem = ""
        while True:
            try:
                await self._serve()
                delay = 0.2  # it was open: the control plane ended it (a restart, say)
            except grpc.aio.AioRpcError as error:
                problem = _problem(error, self._address)
                if problem != last_problem:
                    log.warning("Envoy admin tunnel to the control plane: %s", problem)
                last_problem = problem
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY)

    async def _serve(self) -> None:
        async with channel(self._address) as open_channel:
            call = open_channel.stream_stream(
                OPEN_METHOD,
                request_serializer=ProxyMessage.SerializeToString,
                response_deserializer=AdminRequest.FromString,
            )(metadata=self._metadata)
            await call.write(ProxyMessage(hello=self._hello))
            log.info("Envoy admin tunnel to the control plane open")
            requests: AsyncIterator[AdminRequest] = call.__aiter__()
            async for request in requests:
                for reply in await self._answer(request):
                    await call.write(ProxyMessage(reply=reply))

    async def _answer(self, request: AdminRequest) -> list[AdminReply]:
        if request.kind not in ENVOY_PATHS:
            problem = f'"{request.kind}" is not an admin read it serves'
            return [AdminReply(id=request.id, last=True, error=problem)]
        try:
            response = await self._admin.get(request)
        except httpx.HTTPError as error:
            problem = f"its Envoy admin at {self._admin.described} did not answer: {error!r}"
            return [AdminReply(id=request.id, last=True, error=problem)]
        if response.is_error:
            problem = f"its Envoy admin answered {response.status_code}: {response.text[:200]}"
            return [AdminReply(id=request.id, last=True, error=problem)]
        body = response.content.replace(self._token.encode(), REDACTED)
        content_type = response.headers.get("content-type", "text/plain")
        return chunks(request.id, AdminAnswer(content_type, body))


def _problem(error: grpc.aio.AioRpcError, address: ControlPlaneAddress) -> str:
    try:
        raise_if_untrusted(error, address)
    except UntrustedControlPlane as untrusted:
        return str(untrusted)
    return f"{error.details()} ({error.code().name}); retrying"
