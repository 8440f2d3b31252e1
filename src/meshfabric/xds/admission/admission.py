"""Which proxies the ADS server serves: registered dataplanes presenting a valid token, for
as long as both last (a revoked or expired token, or a deleted Dataplane, ends the stream)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

import grpc
from envoy.config.core.v3.base_pb2 import Node

from meshfabric.dataplane_api.node import (
    MESH_KEY,
    NAME_KEY,
    PROXY_TYPE_KEY,
    VERSION_KEY,
    Features,
)
from meshfabric.metrics import XDS_CONNECTED_PROXIES
from meshfabric.resources import ResourceKey
from meshfabric.store.events import ChangeEvent, ChangeKind
from meshfabric.store.protocol import Store
from meshfabric.xds.admission.auth import ProxyTokens, check_claims, token_refused
from meshfabric.xds.admission.insights import ProxyInsights
from meshfabric.xds.model.proxy import ProxyId
from meshfabric.xds.reconcile import Reconciler, ZoneProxy
from meshfabric.xds.server.ads import Admitted, EndStream, Refused


class DataplaneAdmission:
    def __init__(
        self,
        store: Store,
        tokens: ProxyTokens,
        reconciler: Reconciler,
        insights: ProxyInsights,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._reconciler = reconciler
        self._insights = insights
        self._guards: dict[Admitted, _StreamGuard] = {}

    async def admit(self, node: Node, metadata: Mapping[str, str]) -> Admitted:
        mesh, name, proxy_type = identify(node)
        admitted = await self.admit_proxy(mesh, name, proxy_type, metadata)
        fields = node.metadata.fields
        features = Features.from_metadata({k: v.string_value for k, v in fields.items()})
        return dataclasses.replace(admitted, features=features, version=proxy_versions(node))

    async def admit_proxy(
        self, mesh: str, name: str, proxy_type: str, metadata: Mapping[str, str]
    ) -> Admitted:
        """The proxy, if it is registered and the caller's token may act as it: what every
        connection of a proxy (its ADS stream, its Envoy admin tunnel) is admitted on."""
        token, claims = await self._tokens.verify(metadata, mesh, proxy_type)
        dataplane = await self._store.get(registered(mesh, name, proxy_type))
        if dataplane is None:
            raise Refused(
                grpc.StatusCode.NOT_FOUND,
                f'{proxy_type} "{name}" is not registered in mesh "{mesh}"',
            )
        zone_proxy = ZoneProxy.of(proxy_type) is not None  # registers no services
        check_claims(claims, name, {} if zone_proxy else dataplane.spec, proxy_type)
        return Admitted(ProxyId(mesh, name), token=token, claims=claims)

    def connected(self, admitted: Admitted, end: EndStream) -> None:
        XDS_CONNECTED_PROXIES.inc()
        zone_proxy = ZoneProxy.of(admitted.claims.get("type"))
        self._reconciler.connect(admitted.proxy, admitted.features, zone_proxy)
        self._insights.connected(admitted.proxy, admitted.version)
        self._guards[admitted] = self.guard(admitted, end)

    def disconnected(self, admitted: Admitted) -> None:
        XDS_CONNECTED_PROXIES.dec()
        guard = self._guards.pop(admitted, None)
        if guard is not None:
            guard.close()
        self._reconciler.disconnect(admitted.proxy)
        self._insights.disconnected(admitted.proxy)

    def guard(self, admitted: Admitted, end: EndStream) -> _StreamGuard:
        """Watch what the stream was admitted on, its token and its Dataplane, until the
        guard is closed; `end` it when they no longer admit it."""
        guard = _StreamGuard(self._store, admitted, end)
        guard.watch(
            self._tokens.watch(admitted.token, admitted.claims, guard.token_invalid, guard.mesh),
            self._store.events.watching(guard.key, guard.dataplane_changed),
        )
        return guard


class _StreamGuard:
    """Ends one stream once its token or its Dataplane no longer admits it. A class rather
    than closures: one small object per connected proxy."""

    __slots__ = (
        "_admitted",
        "_checks",
        "_end",
        "_store",
        "_token_type",
        "_watches",
        "key",
        "mesh",
    )

    def __init__(self, store: Store, admitted: Admitted, end: EndStream) -> None:
        self._store, self._admitted, self._end = store, admitted, end
        self._token_type = str(admitted.claims.get("type") or "dataplane")  # as admitted
        self.mesh = admitted.proxy.mesh
        self.key = registered(self.mesh, admitted.proxy.name, self._token_type)
        self._checks: set[asyncio.Task[None]] | None = None  # made on the first change
        self._watches: tuple[AbstractContextManager[None], ...] = ()

    def watch(self, *watches: AbstractContextManager[None]) -> None:
        """Enter these watches now; `close` leaves them, the last first."""
        for watch in watches:
            watch.__enter__()
            self._watches = (watch, *self._watches)

    def token_invalid(self, reason: str) -> None:
        self._end(token_refused(self._admitted.claims, self.mesh, reason))

    def dataplane_changed(self, event: ChangeEvent) -> None:
        proxy = self._admitted.proxy
        if event.kind is ChangeKind.DELETED:
            reason = f'dataplane "{proxy.name}" was deleted from mesh "{proxy.mesh}"'
            self._end(Refused(grpc.StatusCode.NOT_FOUND, reason))
            return
        if self._checks is None:
            self._checks = set()
        task = asyncio.get_running_loop().create_task(self._still_covered())
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    def close(self) -> None:
        for watch in self._watches:
            watch.__exit__(None, None, None)
        self._watches = ()
        for task in list(self._checks or ()):
            task.cancel()

    async def _still_covered(self) -> None:
        """A Dataplane changed to serve a service its token does not cover is not served."""
        dataplane = await self._store.get(self.key)
        if dataplane is not None and ZoneProxy.of(self._token_type) is None:
            try:
                check_claims(
                    self._admitted.claims,
                    self._admitted.proxy.name,
                    dataplane.spec,
                    self._token_type,
                )
            except Refused as refused:
                self._end(refused)


def registered(mesh: str, name: str, proxy_type: str) -> ResourceKey:
    """What a connecting proxy must have registered: its ZoneIngress or ZoneEgress (of no
    mesh; the token's mesh is the one it serves), else its Dataplane."""
    kind = ZoneProxy.of(proxy_type)
    if kind is not None:
        return ResourceKey(kind.resource_type, "", name)
    return ResourceKey("Dataplane", mesh, name)


def identify(node: Node) -> tuple[str, str, str]:
    """(mesh, dataplane name, proxy type) of a connecting Envoy."""
    fields = node.metadata.fields
    mesh = fields[MESH_KEY].string_value if MESH_KEY in fields else ""
    name = fields[NAME_KEY].string_value if NAME_KEY in fields else ""
    if not (mesh and name):
        mesh, _, name = node.id.partition(".")
    if not (mesh and name):
        raise Refused(
            grpc.StatusCode.INVALID_ARGUMENT,
            f'cannot tell the mesh and dataplane from node id "{node.id}" (want <mesh>.<name>)',
        )
    proxy_type = fields[PROXY_TYPE_KEY].string_value if PROXY_TYPE_KEY in fields else ""
    return mesh, name, proxy_type or "dataplane"


def proxy_versions(node: Node) -> dict[str, Any]:
    """What the proxy runs, shaped like Kuma's subscription version: meshfabric-dp's version
    (from the node metadata its bootstrap writes) as "kumaDp", and Envoy's own."""
    versions: dict[str, Any] = {}
    fields = node.metadata.fields
    if VERSION_KEY in fields and fields[VERSION_KEY].string_value:
        versions["kumaDp"] = {"version": fields[VERSION_KEY].string_value}
    envoy = _envoy_version(node)
    if envoy:
        versions["envoy"] = envoy
    return versions


def _envoy_version(node: Node) -> dict[str, str]:
    """Envoy's version, and its build as `envoy --version` prints it
    (sha/version/status/type/ssl)."""
    if node.HasField("user_agent_build_version"):
        build = node.user_agent_build_version
        semantic = build.version
        version = f"{semantic.major_number}.{semantic.minor_number}.{semantic.patch}"
        details = {key: value.string_value for key, value in build.metadata.fields.items()}
        parts = [details.get("revision.sha", ""), version]
        parts += [details.get(key, "") for key in ("revision.status", "build.type", "ssl.version")]
        return {"version": version, "build": "/".join(parts)}
    if node.user_agent_version:
        return {"version": node.user_agent_version, "build": ""}
    return {}
