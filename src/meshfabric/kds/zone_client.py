"""A federated zone's KDS client: one connection to global, both streams, reconnected forever;
on a third, it answers the Envoy admin requests that global forwards to its proxies.

Global to zone, the zone receives (`FromGlobal`); zone to global, it sends (`ToGlobal`). When
either stream ends the connection is dropped and dialled again after a jittered backoff of at
most about a second. Meanwhile the zone keeps serving its proxies from its own store, which
holds everything it last received.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import grpc
from envoy.service.discovery.v3.discovery_pb2 import (
    DeltaDiscoveryRequest,
)

from meshfabric import __version__
from meshfabric.kds.envoy_admin import AskProxy, answer_global
from meshfabric.kds.flows import FromGlobal, ToGlobal
from meshfabric.kds.mux import (
    AUTHORIZATION_HEADER,
    ENVOY_ADMIN,
    GLOBAL_TO_ZONE,
    VERSION_HEADER,
    ZONE_NAME_HEADER,
    ZONE_TO_GLOBAL,
    Silent,
    envoy_admin_stub,
    global_to_zone_stub,
    open_stream,
    until_silent,
    zone_channel_options,
    zone_to_global_stub,
)
from meshfabric.kds.receiver import Receiver
from meshfabric.kds.sender import Sender
from meshfabric.metrics import KDS_RECONNECTS
from meshfabric.store.protocol import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
SCHEME = "grpcs://"
_FIRST_DELAY = 0.05
_MAX_DELAY = 1.0
_REFUSALS = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


class StreamEnded(Exception):
    """Global closed a stream; the connection is dialled again."""


@dataclass(frozen=True)
class GlobalConnection:
    """Where global is and how this zone proves who it is.

    Parameters:
        addresses: `grpcs://HOST:PORT` of global's KDS port, one per replica of global: each
            connection dials the one after the address the last one failed on.
        token_file: the zone token; read at every connection, so a new token needs no restart.
        ca_file: the CA that signed global's KDS certificate; None trusts the system's CAs.
    """

    addresses: tuple[str, ...]
    token_file: Path
    ca_file: Path | None


def backoff_delay(attempt: int) -> float:
    """Seconds before the attempt-th redial: doubling from 50 ms, at most 1 s, jittered so
    that zones cut off together do not all come back in the same instant."""
    ceiling = min(_MAX_DELAY, _FIRST_DELAY * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)


class ZoneKds:
    """Parameters:
    store: the zone's store.
    zone: its name.
    connection: where global is, and the zone's token.
    max_message_bytes: the gRPC message limit of the connection.
    ask_proxy: how the zone asks one of its proxies' Envoy admin, for global.
    """

    def __init__(
        self,
        store: Store,
        zone: str,
        connection: GlobalConnection,
        max_message_bytes: int,
        ask_proxy: AskProxy,
    ) -> None:
        self._store = store
        self._ask_proxy = ask_proxy
        self._zone = zone
        self._connection = connection
        self._max_message_bytes = max_message_bytes
        self._failures = 0  # since global last answered
        self._last_failure = ""
        self._dialled = 0  # index of the address in use

    async def run(self) -> None:
        """Until cancelled: connect, sync, and on any failure connect again."""
        while True:
            try:
                await self._session()
            except* grpc.aio.AioRpcError as failures:
                self._failed(failures.exceptions[0])
            except* (StreamEnded, Silent, OSError) as failures:
                self._failed(failures.exceptions[0])
            await asyncio.sleep(backoff_delay(self._failures))
            self._failures += 1
            self._dialled = (self._dialled + 1) % len(self._connection.addresses)
            KDS_RECONNECTS.labels(self._zone).inc()

    def _failed(self, failure: BaseException) -> None:
        if isinstance(failure, grpc.aio.AioRpcError) and failure.code() in _REFUSALS:
            reason = f"global refused this zone: {failure.details()}"
        elif isinstance(failure, grpc.aio.AioRpcError):
            reason = f"lost global ({failure.code().name}): {failure.details()}"
        else:
            reason = f"lost global: {failure}"
        # Said once per distinct reason: a zone retrying every second does not flood the log.
        if reason != self._last_failure:
            log.warning(reason, extra={"zone": self._zone, "global": self._address})
            self._last_failure = reason

    async def _session(self) -> None:
        token = (await asyncio.to_thread(self._connection.token_file.read_text)).strip()
        root = (
            await asyncio.to_thread(self._connection.ca_file.read_bytes)
            if self._connection.ca_file is not None
            else None
        )
        metadata = (
            (ZONE_NAME_HEADER, self._zone),
            (AUTHORIZATION_HEADER, f"Bearer {token}"),
            (VERSION_HEADER, __version__),
        )
        async with (
            grpc.aio.secure_channel(
                self._address.removeprefix(SCHEME),
                grpc.ssl_channel_credentials(root_certificates=root),
                options=zone_channel_options(self._max_message_bytes),
            ) as channel,
            asyncio.TaskGroup() as streams,
        ):
            streams.create_task(self._receive(channel, metadata))
            streams.create_task(self._send(channel, metadata))
            streams.create_task(self._answer_envoy_admin(channel, metadata))

    async def _receive(
        self, channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]
    ) -> None:
        receiver = Receiver(self._store, FromGlobal(self._store, self._zone), self._zone, "global")
        outbox: asyncio.Queue[DeltaDiscoveryRequest] = asyncio.Queue()
        for request in await receiver.subscriptions():
            outbox.put_nowait(request)
        call = global_to_zone_stub(channel)(_drain(outbox), metadata=metadata)
        with open_stream(self._zone, GLOBAL_TO_ZONE):
            async for response in until_silent(call, "global"):
                self._connected()
                outbox.put_nowait(await receiver.on_response(response))
        raise StreamEnded("global closed the global-to-zone stream")

    async def _send(self, channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> None:
        sender = Sender(self._store, ToGlobal(self._zone), "global", self._max_message_bytes)
        inbox: asyncio.Queue[DeltaDiscoveryRequest] = asyncio.Queue()
        call = zone_to_global_stub(channel)(sender.serve(_drain(inbox)), metadata=metadata)
        with open_stream(self._zone, ZONE_TO_GLOBAL):
            async for request in call:
                inbox.put_nowait(request)
        raise StreamEnded("global closed the zone-to-global stream")

    async def _answer_envoy_admin(
        self, channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]
    ) -> None:
        call = envoy_admin_stub(channel)(metadata=metadata)
        with open_stream(self._zone, ENVOY_ADMIN):
            await answer_global(call, self._ask_proxy)
        raise StreamEnded("global closed the Envoy admin stream")

    @property
    def _address(self) -> str:
        return self._connection.addresses[self._dialled]

    def _connected(self) -> None:
        """Global answered: the next failure starts the backoff afresh, and is logged."""
        if self._failures or self._last_failure:
            log.info("synced with global", extra={"zone": self._zone})
        self._failures = 0
        self._last_failure = ""


async def _drain(queue: asyncio.Queue[T]) -> AsyncIterator[T]:
    while True:
        yield await queue.get()
