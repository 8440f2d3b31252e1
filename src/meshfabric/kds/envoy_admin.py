"""Envoy admin requests forwarded from global to the zone that serves the proxy.

Only a zone control plane reaches its proxies (each keeps an Envoy admin tunnel open to
it). A federated zone therefore keeps one more stream open on its KDS connection,
`EnvoyAdmin`, of the tunnel's messages: global sends the request, naming the proxy by the
zone's own names, and the zone answers with what its proxy's Envoy said, or why it could
not (the status its own REST API would give).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

import grpc

from meshfabric.dataplane_api.envoy_admin import (
    NOT_CONNECTED,
    AdminAnswer,
    AdminError,
    AdminExchange,
    chunks,
    error_reply,
    feed_replies,
)
from meshfabric.dataplane_api.envoy_admin_pb2 import AdminRequest, ProxyMessage

log = logging.getLogger(__name__)

GLOBAL_TIMEOUT = 8.0  # seconds for a zone to answer: above the zone's own wait for a proxy

# The zone's way to ask one of its proxies (mesh and name in the request); AdminError if not.
AskProxy = Callable[[AdminRequest], Awaitable[AdminAnswer]]


class ZoneTunnels:
    """Global's side: the EnvoyAdmin stream of each connected zone."""

    def __init__(self, timeout: float = GLOBAL_TIMEOUT) -> None:
        self._zones: dict[str, AdminExchange] = {}
        self._timeout = timeout

    async def ask(self, zone: str, request: AdminRequest) -> AdminAnswer:
        tunnel = self._zones.get(zone)
        if tunnel is None:
            raise AdminError(
                NOT_CONNECTED,
                f'zone "{zone}" is not connected to this global control plane '
                "(`meshctl inspect zones` shows its state); ask its zone control plane",
            )
        try:
            return await tunnel.ask(request)
        except AdminError as error:
            raise AdminError(error.status, f'zone "{zone}": {error.detail}') from None

    async def serve(
        self, zone: str, replies: AsyncIterator[ProxyMessage]
    ) -> AsyncGenerator[AdminRequest, None]:
        """The zone's stream: requests to send it, as long as it stays open."""
        tunnel = AdminExchange(self._timeout)
        self._zones[zone] = tunnel  # a zone that reconnects replaces its older stream
        reading = asyncio.create_task(feed_replies(replies, tunnel))
        try:
            while (request := await tunnel.outbox.get()) is not None:
                if isinstance(request, AdminRequest):
                    yield request
        finally:
            reading.cancel()
            tunnel.closed()
            if self._zones.get(zone) is tunnel:
                del self._zones[zone]


async def answer_global(call: grpc.aio.StreamStreamCall, ask: AskProxy) -> None:
    """The zone's side: answer each request global sends until the stream ends."""
    writing = asyncio.Lock()
    answering: set[asyncio.Task[None]] = set()

    async def answer(request: AdminRequest) -> None:
        try:
            replies = chunks(request.id, await ask(request))
        except AdminError as error:
            replies = [error_reply(request.id, error)]
        async with writing:
            for reply in replies:
                await call.write(ProxyMessage(reply=reply))

    try:
        async for request in call:
            task = asyncio.create_task(answer(request))  # a slow proxy holds up no other
            answering.add(task)
            task.add_done_callback(answering.discard)
    finally:
        for task in answering:
            task.cancel()
