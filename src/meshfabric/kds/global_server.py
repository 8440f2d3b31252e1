"""Global's KDS server: authenticates each zone, then serves its two streams (and the one
on which global forwards Envoy admin requests to the zone, `meshfabric.kds.envoy_admin`).

Global to zone, global sends (`ToZone`); zone to global, global receives (`FromZone`). The
first stream a zone opens creates its `Zone` resource; its `ZoneInsight` records when it
connected and disconnected, and the version it runs.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from envoy.service.discovery.v3.discovery_pb2 import (
    DeltaDiscoveryRequest,
    DeltaDiscoveryResponse,
)

from meshfabric import __version__
from meshfabric.dataplane_api.envoy_admin_pb2 import AdminRequest, ProxyMessage
from meshfabric.kds.auth import (
    ZoneIdentity,
    ZoneRefused,
    authenticate,
    check_version,
    until_refused,
)
from meshfabric.kds.envoy_admin import ZoneTunnels
from meshfabric.kds.flows import FromZone, ToZone
from meshfabric.kds.mux import (
    ENVOY_ADMIN,
    GLOBAL_TO_ZONE,
    PING_INTERVAL_S,
    VERSION_HEADER,
    ZONE_TO_GLOBAL,
    open_stream,
    server_options,
    service_handler,
)
from meshfabric.kds.receiver import Receiver
from meshfabric.kds.sender import Sender
from meshfabric.resources import Resource, ResourceKey
from meshfabric.store.errors import Conflict
from meshfabric.store.protocol import Store
from meshfabric.tokens import ZONE, TokenIssuer

log = logging.getLogger(__name__)

T = TypeVar("T")

GLOBAL_NODE_ID = "global"
_KEPT_SUBSCRIPTIONS = 5


@dataclass(frozen=True)
class KdsListen:
    address: str
    port: int
    tls: tuple[bytes, bytes]  # certificate PEM, key PEM


class GlobalKds:
    """Parameters:
    store: global's store.
    zones: issues and verifies zone tokens.
    instance_id: this global replica, recorded in each zone's insight.
    max_message_bytes: the gRPC message limit of the KDS port.
    """

    def __init__(
        self, store: Store, zones: TokenIssuer, instance_id: str, max_message_bytes: int
    ) -> None:
        self._store = store
        self._zones = zones
        self._instance_id = instance_id
        self._max_message_bytes = max_message_bytes
        self._server: grpc.aio.Server | None = None
        # A zone's streams connect and disconnect concurrently: each insight change is a
        # read-modify-write that must not lose another's.
        self._insight_writes = asyncio.Lock()
        self._publishing: asyncio.Task[None] | None = None
        self.envoy_admin = ZoneTunnels()  # each zone's stream for Envoy admin requests
        self.port = 0

    async def start(self, listen: KdsListen) -> None:
        self._publishing = asyncio.create_task(self._publish_zone_token_key())
        self._server = grpc.aio.server(options=server_options(self._max_message_bytes))
        self._server.add_generic_rpc_handlers(
            (service_handler(self._global_to_zone, self._zone_to_global, self._envoy_admin),)
        )
        credentials = grpc.ssl_server_credentials([(listen.tls[1], listen.tls[0])])
        self.port = self._server.add_secure_port(f"{listen.address}:{listen.port}", credentials)
        await self._server.start()
        log.info("KDS listening", extra={"address": listen.address, "kds_port": self.port})

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=1)
        if self._publishing is not None:
            self._publishing.cancel()
            await asyncio.gather(self._publishing, return_exceptions=True)

    async def _publish_zone_token_key(self) -> None:
        """Zones verify their ingresses' and egresses' zone tokens with the public key: keep
        it that of the signing key, made on the first token, replaced with it."""
        changed = asyncio.Event()
        with self._store.events.watching(ZONE.signing_key_key(""), lambda _: changed.set()):
            while True:
                try:
                    await self._zones.publish_public_key()
                except Exception:
                    log.exception("could not publish the zone tokens' public key")
                await changed.wait()
                changed.clear()

    async def _global_to_zone(
        self, requests: AsyncIterator[DeltaDiscoveryRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[DeltaDiscoveryResponse]:
        identity, version = await self._admit(context)
        async for response in self._while_valid(
            identity, context, GLOBAL_TO_ZONE, self._send(identity.zone, version, requests)
        ):
            yield response

    async def _zone_to_global(
        self, responses: AsyncIterator[DeltaDiscoveryResponse], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[DeltaDiscoveryRequest]:
        identity, _ = await self._admit(context)
        async for request in self._while_valid(
            identity, context, ZONE_TO_GLOBAL, self._receive(identity.zone, responses)
        ):
            yield request

    async def _envoy_admin(
        self, replies: AsyncIterator[ProxyMessage], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[AdminRequest]:
        identity, _ = await self._admit(context)
        requests = self.envoy_admin.serve(identity.zone, replies)
        async for request in self._while_valid(identity, context, ENVOY_ADMIN, requests):
            yield request

    async def _send(
        self, zone: str, version: str, requests: AsyncIterator[DeltaDiscoveryRequest]
    ) -> AsyncGenerator[DeltaDiscoveryResponse, None]:
        await self._ensure_zone(zone)
        subscription = await self._connected(zone, version)
        log.info("zone connected", extra={"zone": zone, "zone_version": version})
        sender = Sender(
            self._store,
            ToZone(zone),
            f'zone "{zone}"',
            self._max_message_bytes,
            ping_every=PING_INTERVAL_S,
        )
        try:
            async for response in sender.serve(requests):
                yield response
        finally:
            log.info("zone disconnected", extra={"zone": zone})
            # The stream's task may be cancelled as it ends (a refused token aborts it): the
            # zone must still be recorded offline.
            await asyncio.shield(self._disconnected(zone, subscription))

    async def _receive(
        self, zone: str, responses: AsyncIterator[DeltaDiscoveryResponse]
    ) -> AsyncGenerator[DeltaDiscoveryRequest, None]:
        await self._ensure_zone(zone)
        peer = f'zone "{zone}"'
        receiver = Receiver(self._store, FromZone(self._store, zone), GLOBAL_NODE_ID, peer)
        for request in await receiver.subscriptions():
            yield request
        async for response in responses:
            yield await receiver.on_response(response)

    async def _while_valid(
        self,
        identity: ZoneIdentity,
        context: grpc.aio.ServicerContext,
        name: str,
        stream: AsyncGenerator[T, None],
    ) -> AsyncIterator[T]:
        """The stream's messages until it ends or the zone's token stops verifying."""
        refused = asyncio.create_task(until_refused(self._zones, identity))
        following: asyncio.Future[T] | None = None
        try:
            with open_stream(identity.zone, name):
                while True:
                    following = asyncio.ensure_future(anext(stream))
                    await asyncio.wait({following, refused}, return_when=asyncio.FIRST_COMPLETED)
                    if not following.done():
                        reason = refused.result()
                        log.warning(
                            "disconnecting a zone: %s", reason, extra={"zone": identity.zone}
                        )
                        await context.abort(reason.code, reason.reason)
                    try:
                        yield following.result()
                    except StopAsyncIteration:
                        return
        finally:
            refused.cancel()
            if following is not None:
                following.cancel()  # if still running; gather also collects how it ended
                await asyncio.gather(following, return_exceptions=True)
            await stream.aclose()

    async def _admit(self, context: grpc.aio.ServicerContext) -> tuple[ZoneIdentity, str]:
        metadata = {key: str(value) for key, value in context.invocation_metadata() or ()}
        version = metadata.get(VERSION_HEADER, "")
        try:
            identity = await authenticate(self._zones, metadata)
            check_version(identity.zone, version, __version__)
        except ZoneRefused as refused:
            log.warning("refused a zone: %s", refused.reason)
            await context.abort(refused.code, refused.reason)
            raise  # abort() raises; this keeps the type checker informed
        return identity, version

    async def _ensure_zone(self, zone: str) -> None:
        if await self._store.get(ResourceKey("Zone", "", zone)) is not None:
            return
        try:
            await self._store.put(Resource("Zone", "", zone, {}), expected_version=0)
            log.info("created zone %s on its first connection", zone)
        except Conflict:
            pass  # its other stream, or another replica, created it first

    async def _connected(self, zone: str, version: str) -> str:
        subscription: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "globalInstanceId": self._instance_id,
            "connectTime": _now(),
            "version": {"kumaCp": {"version": version}},
        }
        await self._update_insight(zone, lambda subs: [*subs, subscription])
        return str(subscription["id"])

    async def _disconnected(self, zone: str, subscription_id: str) -> None:
        def close(subscriptions: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                {**sub, "disconnectTime": _now()} if sub.get("id") == subscription_id else sub
                for sub in subscriptions
            ]

        await self._update_insight(zone, close)

    async def _update_insight(
        self, zone: str, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
    ) -> None:
        key = ResourceKey("ZoneInsight", "", zone)
        async with self._insight_writes:
            while True:  # the other replicas of global write zones' insights too
                current = await self._store.get(key)
                kept = change(_subscriptions(current))[-_KEPT_SUBSCRIPTIONS:]
                insight = Resource("ZoneInsight", "", zone, {"subscriptions": kept})
                try:
                    await self._store.put(insight, current.version if current else 0)
                    return
                except Conflict:
                    continue


def _subscriptions(insight: Resource | None) -> list[dict[str, Any]]:
    return list((insight.spec if insight else {}).get("subscriptions") or [])


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
