"""The Envoy admin tunnel, as envoy_admin.proto declares it, and the bookkeeping of the side
that asks: a proxy's tunnel to its zone control plane, and a zone's to global (KDS).

The messages are generated from that file (`make proto`). Replies travel in chunks of at
most CHUNK_BYTES, well under gRPC's default 4 MiB message limit, so a large config dump
needs no special channel options on either side.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc

from meshfabric.dataplane_api import envoy_admin_pb2
from meshfabric.dataplane_api.envoy_admin_pb2 import AdminReply, AdminRequest, ProxyMessage

SERVICE = envoy_admin_pb2.DESCRIPTOR.services_by_name["EnvoyAdminTunnel"].full_name
OPEN_METHOD = f"/{SERVICE}/Open"
CHUNK_BYTES = 1 << 20
MAX_REPLY_BYTES = 64 << 20  # a reply larger than this is refused rather than buffered
# What AdminRequest.kind may ask, and the Envoy admin path that answers it.
CONFIG_DUMP, STATS, CLUSTERS = "config_dump", "stats", "clusters"
ENVOY_PATHS = {CONFIG_DUMP: "/config_dump", STATS: "/stats", CLUSTERS: "/clusters"}
# What a dataplane token is replaced by wherever the proxy's Envoy would show it (its
# bootstrap holds the token, and the config dump shows the bootstrap).
REDACTED = b"[redacted]"

# How the REST API answers a request that got no reply from the proxy's Envoy.
NOT_FOUND, FAILED, NOT_CONNECTED, LATE = 404, 502, 503, 504


class AdminError(Exception):
    """No answer from the proxy's Envoy; `status` is the REST API's answer to it."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class AdminAnswer:
    content_type: str
    body: bytes


def chunks(request_id: int, answer: AdminAnswer) -> list[AdminReply]:
    """The reply in pieces of at most CHUNK_BYTES; the last one says so."""
    body = answer.body
    pieces = [body[start : start + CHUNK_BYTES] for start in range(0, len(body), CHUNK_BYTES)]
    pieces = pieces or [b""]
    return [
        AdminReply(
            id=request_id,
            body=piece,
            last=index == len(pieces) - 1,
            content_type=answer.content_type,
        )
        for index, piece in enumerate(pieces)
    ]


def error_reply(request_id: int, error: AdminError) -> AdminReply:
    return AdminReply(id=request_id, last=True, error=error.detail, status=error.status)


@dataclass
class _Pending:
    reply: asyncio.Future[AdminAnswer]
    parts: list[bytes] = field(default_factory=list)
    size: int = 0

    def add(self, chunk: AdminReply) -> None:
        if self.reply.done():
            return
        if chunk.error:
            self.reply.set_exception(AdminError(chunk.status or FAILED, chunk.error))
            return
        self.size += len(chunk.body)
        if self.size > MAX_REPLY_BYTES:
            too_large = f"its reply is larger than {MAX_REPLY_BYTES >> 20} MiB"
            self.reply.set_exception(AdminError(FAILED, too_large))
            return
        self.parts.append(chunk.body)
        if chunk.last:
            self.reply.set_result(AdminAnswer(chunk.content_type, b"".join(self.parts)))


class AdminExchange:
    """The asking end of one open tunnel: requests wait in `outbox` for the stream to send
    them, replies come in through `received`. `end` puts an exception (the stream is to be
    ended with it) or None (the peer closed its side) in the outbox after the requests."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout  # seconds the peer has to answer a request
        self.outbox: asyncio.Queue[AdminRequest | Exception | None] = asyncio.Queue()
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)

    async def ask(self, request: AdminRequest) -> AdminAnswer:
        request_id = next(self._ids)
        pending = _Pending(asyncio.get_running_loop().create_future())
        self._pending[request_id] = pending
        sent = AdminRequest()
        sent.CopyFrom(request)
        sent.id = request_id
        self.outbox.put_nowait(sent)
        try:
            return await asyncio.wait_for(pending.reply, self.timeout)
        except TimeoutError:
            raise AdminError(LATE, f"it did not answer within {self.timeout:g}s") from None
        finally:
            self._pending.pop(request_id, None)

    def received(self, reply: AdminReply) -> None:
        pending = self._pending.get(reply.id)
        if pending is not None:
            pending.add(reply)

    def end(self, reason: Exception | None) -> None:
        self.outbox.put_nowait(reason)

    def closed(self) -> None:
        """The stream is over: whatever still waits for a reply gets none."""
        for pending in self._pending.values():
            if not pending.reply.done():
                closed = AdminError(FAILED, "its tunnel closed before it answered")
                pending.reply.set_exception(closed)


async def feed_replies(messages: AsyncIterator[ProxyMessage], exchange: AdminExchange) -> None:
    """Each reply of the stream to the exchange; once the peer closes its side, tell it."""
    try:
        async for message in messages:
            if message.WhichOneof("message") == "reply":
                exchange.received(message.reply)
    except grpc.aio.AioRpcError:
        pass  # the peer went away: the same as a clean end here
    finally:
        exchange.end(None)
