"""The control plane's side of the Envoy admin tunnel (`meshfabric.dataplane_api.envoy_admin`).

Each meshfabric-dp keeps one tunnel open, admitted like its ADS stream: a registered proxy
whose dataplane token may act as it, watched for as long as it lasts (a revoked token or a
deleted Dataplane ends it). `ask` sends a request down the tunnel of one dataplane and
waits for the reply, which the proxy reads from its local Envoy admin.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc

from meshfabric.dataplane_api.envoy_admin import (
    NOT_CONNECTED,
    NOT_FOUND,
    SERVICE,
    AdminAnswer,
    AdminError,
    AdminExchange,
    feed_replies,
)
from meshfabric.dataplane_api.envoy_admin_pb2 import AdminRequest, ProxyMessage
from meshfabric.resources import ResourceKey
from meshfabric.store.protocol import Store
from meshfabric.xds.admission.admission import DataplaneAdmission, registered
from meshfabric.xds.server.ads import Admitted, Refused

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0  # seconds for a proxy to answer; global waits 8, meshctl 10


class EnvoyAdminTunnels:
    def __init__(
        self,
        admission: DataplaneAdmission,
        store: Store,
        instance_id: str,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._admission = admission
        self._store = store
        self._instance_id = instance_id
        self._tunnels: dict[ResourceKey, AdminExchange] = {}
        self.timeout = timeout  # seconds a proxy has to answer

    def handler(self) -> grpc.GenericRpcHandler:
        open_tunnel = grpc.stream_stream_rpc_method_handler(
            self.open,
            request_deserializer=ProxyMessage.FromString,
            response_serializer=AdminRequest.SerializeToString,
        )
        return grpc.method_handlers_generic_handler(SERVICE, {"Open": open_tunnel})

    async def ask(self, mesh: str, name: str, request: AdminRequest) -> AdminAnswer:
        """What the Envoy of dataplane `name` answers; AdminError says why it did not."""
        key = ResourceKey("Dataplane", mesh, name)
        if await self._store.get(key) is None:
            raise AdminError(NOT_FOUND, f"Dataplane {mesh}/{name} not found")
        proxy = f'dataplane "{name}" of mesh "{mesh}"'
        tunnel = self._tunnels.get(key)
        if tunnel is None:
            raise AdminError(NOT_CONNECTED, await self._not_connected(proxy, key))
        try:
            return await tunnel.ask(request)
        except AdminError as error:
            raise AdminError(error.status, f"the proxy of {proxy}: {error.detail}") from None

    async def open(
        self, messages: AsyncIterator[ProxyMessage], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[AdminRequest]:
        first = await anext(aiter(messages), None)
        if first is None:
            return
        try:
            key, admitted = await self._admit(first, context)
        except Refused as refused:
            log.warning("refused an Envoy admin tunnel: %s", refused.reason)
            await context.abort(refused.code, refused.reason)
            raise
        tunnel = AdminExchange(self.timeout)
        self._tunnels[key] = tunnel  # a proxy that reconnects replaces its older tunnel
        guard = self._admission.guard(admitted, tunnel.end)
        replies = asyncio.create_task(feed_replies(messages, tunnel))
        log.info("Envoy admin tunnel open", extra={"mesh": key.mesh, "proxy": key.name})
        try:
            async for request in _requests(tunnel, context):
                yield request
        finally:
            guard.close()
            replies.cancel()
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

    async def _not_connected(self, proxy: str, key: ResourceKey) -> str:
        """Why there is no tunnel: the proxy is offline, or served by another instance."""
        insight = await self._store.get(ResourceKey("DataplaneInsight", key.mesh, key.name))
        subscriptions = (insight.spec if insight else {}).get("subscriptions") or [{}]
        latest = subscriptions[-1]
        instance = latest.get("controlPlaneInstanceId")
        if latest.get("connectTime") and not latest.get("disconnectTime") and instance:
            if instance != self._instance_id:
                return (
                    f"{proxy} is connected to control-plane instance {instance}, not to this "
                    f"one ({self._instance_id}): ask that instance"
                )
            return f"{proxy} is connected, but its meshfabric-dp has no Envoy admin tunnel open"
        return (
            f"{proxy} is not connected to this control plane: its proxy is offline "
            "(`meshctl inspect dataplanes` shows its state)"
        )


async def _requests(
    tunnel: AdminExchange, context: grpc.aio.ServicerContext
) -> AsyncIterator[AdminRequest]:
    """What to send down the tunnel, until the proxy closes it or may no longer hold it."""
    while True:
        item = await tunnel.outbox.get()
        if item is None:
            return
        if isinstance(item, Refused):
            await context.abort(item.code, item.reason)
            return
        if isinstance(item, AdminRequest):
            yield item
