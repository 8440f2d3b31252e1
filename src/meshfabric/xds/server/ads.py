"""The Aggregated Discovery Service over gRPC: delta and state-of-the-world on one servicer.

Each stream is admitted once (token and identity, see `Admission`), then follows its proxy's
snapshot in the cache: requests and new snapshots are handled in arrival order by one
protocol session, so responses on a stream never interleave. The admission may end the
stream later (its token revoked or expired, its Dataplane deleted): the proxy then gets the
gRPC status and the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
from envoy.config.core.v3.base_pb2 import Node
from envoy.service.discovery.v3 import ads_pb2_grpc
from envoy.service.discovery.v3.discovery_pb2 import (
    DeltaDiscoveryRequest,
)

from meshfabric.dataplane_api.node import NO_FEATURES, Features
from meshfabric.xds.cache.snapshot import Snapshot, SnapshotCache
from meshfabric.xds.model.proxy import ProxyId
from meshfabric.xds.server.delta import DeltaSession
from meshfabric.xds.server.sotw import SotwSession
from meshfabric.xds.server.stream import StreamHooks

log = logging.getLogger(__name__)


class Refused(Exception):
    """A stream or call the control plane will not serve; the message tells the proxy why."""

    def __init__(self, code: grpc.StatusCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, eq=False, slots=True)  # one per stream
class Admitted:
    proxy: ProxyId  # the identity the token was checked against: all the stream may serve
    features: Features = NO_FEATURES  # what the proxy's host offers beyond the basics
    token: str = ""
    claims: Mapping[str, Any] = field(default_factory=dict)
    version: dict[str, Any] = field(default_factory=dict)  # what the proxy runs, Kuma's shape


# Ends a stream with the refusal's status and reason; safe to call more than once.
EndStream = Callable[[Refused], None]


class Admission(Protocol):
    """Decides whether a connecting proxy may be served, and as which proxy."""

    async def admit(self, node: Node, metadata: Mapping[str, str]) -> Admitted: ...

    def connected(self, admitted: Admitted, end: EndStream) -> None:
        """The stream is served; call `end` when the proxy may no longer be."""
        ...

    def disconnected(self, admitted: Admitted) -> None: ...


class _Session(Protocol):
    proxy: ProxyId

    def on_request(self, request: Any) -> list[Any]: ...

    def on_snapshot(self, snapshot: Snapshot) -> list[Any]: ...


_END = object()


class _Inbox:
    """A stream's requests and snapshots, taken by its one consumer in order. What
    asyncio.Queue does here, without its four deques (~3 KiB per connected proxy), and
    without a coroutine frame for the wait (a future alone)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def take(self) -> Any:
        """The next item; None if there is none yet (then await `arrival`)."""
        return self._items.pop(0) if self._items else None

    def arrival(self) -> asyncio.Future[None]:
        """Done once an item is put."""
        self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter


class AggregatedDiscovery(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):  # type: ignore[misc]
    def __init__(self, cache: SnapshotCache, admission: Admission, hooks: StreamHooks) -> None:
        self._cache = cache
        self._snapshot_of = cache.get  # bound once: every stream holds this one
        self._admission = admission
        self._hooks = hooks

    async def _serve(self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> None:
        """Either protocol, told apart by the first request. A coroutine that writes, not an
        async generator: gRPC would keep the last response a generator yielded (a whole
        message, kilobytes) for as long as the stream then stays quiet."""
        # Read through the context, not the iterator: that is another async generator
        # for as long as the stream lasts.
        first = await context.read()
        if first is grpc.aio.EOF:
            return
        delta = isinstance(first, DeltaDiscoveryRequest)
        admitted = await self._admit(first.node, context)
        proxy = admitted.proxy
        session_type = DeltaSession if delta else SotwSession
        session: _Session = session_type(proxy, self._hooks, self._snapshot_of)
        inbox = _Inbox()
        deliver = inbox.put_nowait  # one bound method, held by both watches below
        reader = asyncio.create_task(_pump(context, inbox))
        protocol = "delta" if delta else "sotw"
        log.info("proxy %s connected", proxy, extra=_fields(proxy) | {"xds": protocol})
        try:
            with self._cache.watch(proxy, deliver):
                self._admission.connected(admitted, deliver)
                # Keep neither the first request (the node and its metadata) nor earlier
                # responses (copies of what they sent) for as long as the proxy stays
                # connected; gRPC itself holds only the latest of each.
                responses: list[Any] | None = session.on_request(first)
                del first
                while responses is not None:
                    while responses:
                        await context.write(responses.pop(0))
                    item = inbox.take()
                    if item is None:
                        await inbox.arrival()
                    else:  # not in a coroutine of its own: its frame would last as long
                        responses = await self._answer(session, item, context)
        finally:
            reader.cancel()
            self._admission.disconnected(admitted)
            log.info("proxy %s disconnected", proxy, extra=_fields(proxy))

    # grpc calls these by name: StreamAggregatedResources with DiscoveryRequests,
    # DeltaAggregatedResources with DeltaDiscoveryRequests.
    StreamAggregatedResources = _serve
    DeltaAggregatedResources = _serve

    @staticmethod
    async def _answer(
        session: _Session, item: Any, context: grpc.aio.ServicerContext
    ) -> list[Any] | None:
        """The responses to a request or snapshot from the inbox; None once it ends."""
        if item is _END:
            return None
        if isinstance(item, Refused):
            log.warning("ending the stream of proxy %s: %s", session.proxy, item.reason)
            await context.abort(item.code, item.reason)
        handle = session.on_snapshot if isinstance(item, Snapshot) else session.on_request
        return handle(item)

    async def _admit(self, node: Node, context: grpc.aio.ServicerContext) -> Admitted:
        metadata = {key: str(value) for key, value in context.invocation_metadata() or ()}
        try:
            return await self._admission.admit(node, metadata)
        except Refused as refused:
            log.warning("refused a proxy: %s", refused.reason, extra={"node": node.id})
            await context.abort(refused.code, refused.reason)
            raise  # abort() raises; this keeps the type checker informed


def _fields(proxy: ProxyId) -> dict[str, str]:
    return {"mesh": proxy.mesh, "dataplane": proxy.name}


async def _pump(context: grpc.aio.ServicerContext, inbox: _Inbox) -> None:
    """Move the proxy's requests into the session's inbox; _END when the stream is over."""
    try:
        while (request := await context.read()) is not grpc.aio.EOF:
            inbox.put_nowait(request)
            del request  # the session keeps what it needs; the message may go once handled
    except grpc.aio.AioRpcError:
        pass  # the proxy went away mid-stream: the same as a clean end for us
    finally:
        inbox.put_nowait(_END)
