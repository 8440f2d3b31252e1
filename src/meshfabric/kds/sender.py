"""The sending half of a KDS delta stream: the initial sync per type, then the changes.

The peer subscribes per type; the answer is everything this side has of that type for the
peer, and the names the peer holds that this side no longer has, as removals. After that,
store change events alone drive the stream: no polling, no periodic refresh. Every response
stays under the gRPC message limit, split into as many as it takes. A NACK is logged with
its reason and never answered by resending the same content.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import grpc
from envoy.service.discovery.v3.discovery_pb2 import (
    DeltaDiscoveryRequest,
    DeltaDiscoveryResponse,
)
from envoy.service.discovery.v3.discovery_pb2 import Resource as DeltaResource

from meshfabric.kds.flows import Outbound
from meshfabric.kds.mux import PING_TYPE_URL, Silent, until_silent
from meshfabric.kds.wire import encode, type_url, wire_name
from meshfabric.metrics import KDS_NACKS, KDS_RESOURCES_SENT, KDS_SYNC_SECONDS
from meshfabric.resources import ResourceKey, ResourceType
from meshfabric.store.events import ChangeEvent
from meshfabric.store.protocol import Store

log = logging.getLogger(__name__)

# Room left in each response for its type URL, nonce and field framing.
_FRAMING_BYTES = 1024
_END = object()
_PING = object()


@dataclass(frozen=True)
class _Unacknowledged:
    rtype: ResourceType
    # What each name's entry in the subscription's `sent` was before the response.
    previous: dict[str, str | None]
    # When the change it carries was noticed (monotonic); None for an initial sync.
    since: float | None


@dataclass
class _Subscription:
    rtype: ResourceType
    # What the peer holds from us: wire name -> the version last sent.
    sent: dict[str, str] = field(default_factory=dict)


class Sender:
    """Serves one peer the resources `outbound` lets it see.

    Parameters:
        store: where the resources and their change events come from.
        outbound: which resources the peer may see, and in which form.
        peer: who is on the other end, for logs.
        max_message_bytes: the gRPC message limit both ends use.
        ping_every: seconds between liveness pings the peer answers; None sends none.
    """

    def __init__(
        self,
        store: Store,
        outbound: Outbound,
        peer: str,
        max_message_bytes: int,
        ping_every: float | None = None,
    ) -> None:
        self._store = store
        self._ping_every = ping_every
        self._outbound = outbound
        self._peer = peer
        self._budget = max_message_bytes - _FRAMING_BYTES
        self._types = {type_url(rtype): rtype for rtype in outbound.types}
        self._subscriptions: dict[str, _Subscription] = {}
        self._unacknowledged: dict[str, _Unacknowledged] = {}
        self._nonces = itertools.count(1)

    async def serve(
        self, requests: AsyncIterator[DeltaDiscoveryRequest]
    ) -> AsyncIterator[DeltaDiscoveryResponse]:
        inbox: asyncio.Queue[object] = asyncio.Queue()
        async with self._store.events.subscribe() as changes:
            tasks = [
                asyncio.create_task(_pump_changes(changes, inbox)),
            ]
            if self._ping_every is not None:
                # The peer answers every ping: a silent peer is gone.
                requests = until_silent(requests, self._peer)
                tasks.append(asyncio.create_task(_pump_pings(inbox, self._ping_every)))
            tasks.append(asyncio.create_task(_pump(requests, inbox, self._peer)))
            try:
                while (item := await inbox.get()) is not _END:
                    if isinstance(item, DeltaDiscoveryRequest):
                        responses = await self._on_request(item)
                    elif item is _PING:
                        responses = [self._ping()]
                    else:
                        responses = await self._on_changes(_drain(item, inbox))
                    for response in responses:
                        yield response
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    def _ping(self) -> DeltaDiscoveryResponse:
        return DeltaDiscoveryResponse(type_url=PING_TYPE_URL, nonce=str(next(self._nonces)))

    async def _on_request(self, request: DeltaDiscoveryRequest) -> list[DeltaDiscoveryResponse]:
        if request.response_nonce:
            self._on_answer(request)
            return []
        rtype = self._types.get(request.type_url)
        if rtype is None:
            log.warning("%s subscribed to a type it may not have: %s", self._peer, request.type_url)
            return []
        subscription = self._subscriptions[request.type_url] = _Subscription(rtype)
        subscription.sent = dict.fromkeys(request.initial_resource_versions, "")
        current = [
            exported
            for resource in (await self._store.list(rtype.name)).items
            if (exported := self._outbound.export(rtype, resource)) is not None
        ]
        entries = [encode(resource) for resource in current]
        removed = sorted(set(subscription.sent) - {entry.name for entry in entries})
        log.info(
            "initial sync of %s to %s: %d resources, %d removed",
            rtype.name,
            self._peer,
            len(entries),
            len(removed),
            extra={"peer": self._peer, "type": rtype.name},
        )
        return self._respond(subscription, entries, removed, since=None)

    def _on_answer(self, request: DeltaDiscoveryRequest) -> None:
        pending = self._unacknowledged.pop(request.response_nonce, None)
        if pending is None:
            return  # a ping's answer
        type_name = pending.rtype.name
        if not request.HasField("error_detail"):
            if pending.since is not None:
                KDS_SYNC_SECONDS.labels(self._outbound.zone, type_name).observe(
                    time.monotonic() - pending.since
                )
            return
        KDS_NACKS.labels(self._outbound.zone, type_name, "received").inc()
        log.warning(
            "%s refused %s: %s",
            self._peer,
            type_name,
            request.error_detail.message,
            extra={"peer": self._peer, "nonce": request.response_nonce},
        )
        # The peer applied nothing of that response: it still holds what it held before.
        subscription = self._subscriptions.get(type_url(pending.rtype))
        if subscription is None:
            return
        for name, version in pending.previous.items():
            if version is None:
                subscription.sent.pop(name, None)
            else:
                subscription.sent[name] = version

    async def _on_changes(self, keys: Iterable[ResourceKey]) -> list[DeltaDiscoveryResponse]:
        noticed = time.monotonic()
        responses: list[DeltaDiscoveryResponse] = []
        by_type: dict[str, set[ResourceKey]] = {}
        for key in keys:
            by_type.setdefault(key.type, set()).add(key)
        for subscription in self._subscriptions.values():
            changed = by_type.get(subscription.rtype.name)
            if changed:
                entries, removed = await self._delta(subscription, sorted(changed))
                responses += self._respond(subscription, entries, removed, since=noticed)
        return responses

    async def _delta(
        self, subscription: _Subscription, keys: list[ResourceKey]
    ) -> tuple[list[DeltaResource], list[str]]:
        entries, removed = [], []
        for key in keys:
            stored = await self._store.get(key)
            exported = (
                self._outbound.export(subscription.rtype, stored) if stored is not None else None
            )
            if exported is not None:
                entry = encode(exported)
                if subscription.sent.get(entry.name) != entry.version:
                    entries.append(entry)
            elif (name := wire_name(key.mesh, key.name)) in subscription.sent:
                removed.append(name)
        return entries, removed

    def _respond(
        self,
        subscription: _Subscription,
        entries: list[DeltaResource],
        removed: list[str],
        since: float | None,
    ) -> list[DeltaDiscoveryResponse]:
        """Responses for the changes; an initial sync (since None) answers even when empty."""
        if not (entries or removed or since is None):
            return []
        url = type_url(subscription.rtype)
        responses = []
        for chunk_entries, chunk_removed in self._split(subscription.rtype, entries, removed):
            nonce = str(next(self._nonces))
            previous: dict[str, str | None] = {}
            for entry in chunk_entries:
                previous[entry.name] = subscription.sent.get(entry.name)
                subscription.sent[entry.name] = entry.version
            for name in chunk_removed:
                previous[name] = subscription.sent.pop(name, None)
            self._unacknowledged[nonce] = _Unacknowledged(subscription.rtype, previous, since)
            KDS_RESOURCES_SENT.labels(self._outbound.zone, subscription.rtype.name).inc(
                len(chunk_entries) + len(chunk_removed)
            )
            responses.append(
                DeltaDiscoveryResponse(
                    type_url=url,
                    nonce=nonce,
                    resources=chunk_entries,
                    removed_resources=chunk_removed,
                )
            )
        return responses

    def _split(
        self, rtype: ResourceType, entries: list[DeltaResource], removed: list[str]
    ) -> list[tuple[list[DeltaResource], list[str]]]:
        """Chunks of (entries, removed names) that each fit one message; at least one chunk."""
        chunks: list[tuple[list[DeltaResource], list[str]]] = [([], [])]
        used = 0
        for entry in entries:
            size = entry.ByteSize() + 8
            if size > self._budget:
                log.error(
                    "%s %s is %d bytes, over the %d-byte KDS message limit: not sent to %s",
                    rtype.name,
                    entry.name,
                    size,
                    self._budget + _FRAMING_BYTES,
                    self._peer,
                )
                continue
            if used + size > self._budget:
                chunks.append(([], []))
                used = 0
            chunks[-1][0].append(entry)
            used += size
        for name in removed:
            size = len(name.encode()) + 4
            if used + size > self._budget:
                chunks.append(([], []))
                used = 0
            chunks[-1][1].append(name)
            used += size
        return chunks


def _drain(first: object, inbox: asyncio.Queue[object]) -> list[ResourceKey]:
    """The changes waiting in the inbox behind the first, taken together; requests stay."""
    assert isinstance(first, ChangeEvent)
    keys = [first.key]
    waiting = []
    while not inbox.empty():
        item = inbox.get_nowait()
        if isinstance(item, ChangeEvent):
            keys.append(item.key)
        else:
            waiting.append(item)
    for item in waiting:
        inbox.put_nowait(item)
    return keys


async def _pump(
    requests: AsyncIterator[DeltaDiscoveryRequest], inbox: asyncio.Queue[object], peer: str
) -> None:
    try:
        async for request in requests:
            inbox.put_nowait(request)
    except grpc.aio.AioRpcError:
        pass  # the peer went away mid-stream: the same as a clean end here
    except Silent as silent:
        log.warning("dropping the stream: %s", silent, extra={"peer": peer})
    finally:
        inbox.put_nowait(_END)


async def _pump_changes(changes: asyncio.Queue[ChangeEvent], inbox: asyncio.Queue[object]) -> None:
    while True:
        inbox.put_nowait(await changes.get())


async def _pump_pings(inbox: asyncio.Queue[object], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        inbox.put_nowait(_PING)
