"""The control plane's side of the Envoy admin tunnel (`meshfabric.dataplane_api.envoy_admin`).

Each meshfabric-dp keeps one tunnel open, admitted like its ADS stream: a registered proxy
whose dataplane token may act as it, watched for as long as it lasts (a revoked token or a
deleted Dataplane ends it). `ask` sends a request down the tunnel of one proxy and waits
for the reply, which the proxy reads from its local Envoy admin.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc

from meshfabric.dataplane_api.envoy_admin import SERVICE
from meshfabric.dataplane_api.envoy_admin_pb2 import AdminReply, AdminRequest, ProxyMessage
from meshfabric.resources import ResourceKey
from meshfabric.xds.admission.admission import DataplaneAdmission, registered
from meshfabric.xds.server.ads import Admitted, Refused

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0  # seconds for a proxy to answer; meshctl waits 10
MAX_REPLY_BYTES = 64 << 20  # a proxy answering more is refused rather than buffered


class ProxyNotConnected(Exception):
    """No tunnel from that proxy is open on this control plane."""


class ProxyAdminFailed(Exception):
    """The proxy did not answer: its Envoy's error, a reply too large, or the tunnel closed."""


class ProxyAdminTimeout(Exception):
    """The proxy did not answer in time."""


@dataclass(frozen=True)
class AdminAnswer:
    content_type: str
    body: bytes


@dataclass
class _Pending:
    reply: asyncio.Future[AdminAnswer]
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0

    def add(self, chunk: AdminReply) -> None:
        if self.reply.done():
            return
        if chunk.error:
            self.reply.set_exception(ProxyAdminFailed(chunk.error))
            return
        self.size += len(chunk.body)
        if self.size > MAX_REPLY_BYTES:
            self.reply.set_exception(
                ProxyAdminFailed(f"its reply is larger than {MAX_REPLY_BYTES >> 20} MiB")
            )
            return
        self.chunks.append(chunk.body)
        if chunk.last:
            self.reply.set_result(AdminAnswer(chunk.content_type, b"".join(self.chunks)))


class _Tunnel:
    """One proxy's open tunnel: requests waiting to be sent, replies being received."""

    def __init__(self) -> None:
        # None: the proxy closed its side; Refused: its token or Dataplane no longer admit it.
        self.outbox: asyncio.Queue[AdminRequest | Refused | None] = asyncio.Queue()
        self.pending: dict[int, _Pending] = {}

    def send(self, request_id: int, kind: str, include_eds: bool) -> _Pending:
        pending = _Pending(asyncio.get_running_loop().create_future())
        self.pending[request_id] = pending
        self.outbox.put_nowait(AdminRequest(id=request_id, kind=kind, include_eds=include_eds))
        return pending

    def received(self, reply: AdminReply) -> None:
        pending = self.pending.get(reply.id)
        if pending is not None:
            pending.add(reply)

    def end(self, refused: Refused) -> None:
        self.outbox.put_nowait(refused)

    def closed(self) -> None:
        for pending in self.pending.values():
            if not pending.reply.done():
                closed = ProxyAdminFailed("its tunnel closed before it answered")
                pending.reply.set_exception(closed)


class EnvoyAdminTunnels:
    def __init__(self, admission: DataplaneAdmission, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._admission = admission
        self.timeout = timeout  # seconds a proxy has to answer
        self._tunnels: dict[ResourceKey, _Tunnel] = {}
        self._ids = itertools.count(1)

    def handler(self) -> grpc.GenericRpcHandler:
        open_tunnel = grpc.stream_stream_rpc_method_handler(
            self.open,
            request_deserializer=ProxyMessage.FromString,
            response_serializer=AdminRequest.SerializeToString,
        )
        return grpc.method_handlers_generic_handler(SERVICE, {"Open": open_tunnel})

    def connected(self, key: ResourceKey) -> bool:
        return key in self._tunnels

    async def ask(
        self,
        key: ResourceKey,
        kind: str,
        include_eds: bool = False,
    ) -> AdminAnswer:
        """What the proxy's Envoy answers; key is its Dataplane (or ZoneIngress)."""
        tunnel = self._tunnels.get(key)
        if tunnel is None:
            raise ProxyNotConnected(key)
        request_id = next(self._ids)
        pending = tunnel.send(request_id, kind, include_eds)
        try:
            return await asyncio.wait_for(pending.reply, self.timeout)
        except TimeoutError:
            raise ProxyAdminTimeout(f"it did not answer within {self.timeout:g}s") from None
        finally:
            tunnel.pending.pop(request_id, None)

    async def open(
        self, messages: AsyncIterator[ProxyMessage], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[AdminRequest]:
        first = await anext(aiter(messages), None)
        if first is None:
            return
        try:
            key, guarded = await self._admit(first, context)
        except Refused as refused:
            log.warning("refused an Envoy admin tunnel: %s", refused.reason)
            await context.abort(refused.code, refused.reason)
            raise
        tunnel = _Tunnel()
        self._tunnels[key] = tunnel  # a proxy that reconnects replaces its older tunnel
        guard = self._admission.guard(guarded, tunnel.end)
        reader = asyncio.create_task(_read_replies(messages, tunnel))
        log.info("Envoy admin tunnel open", extra={"mesh": key.mesh, "proxy": key.name})
        try:
            while True:
                item = await tunnel.outbox.get()
                if item is None:
                    return
                if isinstance(item, Refused):
                    await context.abort(item.code, item.reason)
                    return
                yield item
        finally:
            guard.close()
            reader.cancel()
            tunnel.closed()
            if self._tunnels.get(key) is tunnel:
                del self._tunnels[key]

    async def _admit(
        self, first: ProxyMessage, context: grpc.aio.ServicerContext
    ) -> tuple[ResourceKey, Admitted]:
        if first.WhichOneof("message") != "hello":
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "the tunnel must open with a Hello")
        hello = first.hello
        mesh, proxy_type = hello.mesh or "default", hello.proxy_type or "dataplane"
        if not hello.name:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "the Hello names no proxy")
        metadata = {key: str(value) for key, value in context.invocation_metadata() or ()}
        admitted = await self._admission.admit_proxy(mesh, hello.name, proxy_type, metadata)
        return registered(mesh, hello.name, proxy_type), admitted


async def _read_replies(messages: AsyncIterator[ProxyMessage], tunnel: _Tunnel) -> None:
    try:
        async for message in messages:
            if message.WhichOneof("message") == "reply":
                tunnel.received(message.reply)
    except grpc.aio.AioRpcError:
        pass  # the proxy went away: the stream's end closes the tunnel
    finally:
        tunnel.outbox.put_nowait(None)
