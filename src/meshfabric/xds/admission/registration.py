"""Dataplane registration on the xDS port, the control plane's side of the call described
in `meshfabric.dataplane_api.registration`.

A registration may not take over: not a Dataplane of a service its token does not cover,
not one whose proxy is connected right now (a second meshfabric-dp with the same name), and
not the labels the control plane itself sets.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import grpc

from meshfabric.dataplane_api.registration import SERVICE
from meshfabric.dataplane_api.registration_pb2 import (
    DeregisterRequest,
    DeregisterResponse,
    RegisterRequest,
    RegisterResponse,
)
from meshfabric.resources import Resource, ResourceKey, ValidationFailed
from meshfabric.resources.types.dataplane import DataplaneFields
from meshfabric.store.errors import MeshNotFound, NotFound
from meshfabric.store.manager import ResourceManager
from meshfabric.xds.admission.auth import ProxyTokens, check_claims
from meshfabric.xds.model.proxy import ProxyId
from meshfabric.xds.reconcile import ZoneProxy
from meshfabric.xds.server.ads import Refused

log = logging.getLogger(__name__)

_Request = TypeVar("_Request", RegisterRequest, DeregisterRequest)
_Response = TypeVar("_Response", RegisterResponse, DeregisterResponse)

_META_FIELDS = ("type", "mesh", "name", "labels", "creationTime", "modificationTime")
# Labels the control plane sets (sync origin, zone, display name, ...): never a proxy.
CONTROL_PLANE_LABELS = frozenset(
    {
        "kuma.io/origin",
        "kuma.io/zone",
        "kuma.io/display-name",
        "kuma.io/env",
        "kuma.io/mesh",
        "kuma.io/proxy-type",
        "kuma.io/managed-by",
        "k8s.kuma.io/namespace",
    }
)

# When the proxy is connected now: a description for a person (since when), else None.
RunningCheck = Callable[[ProxyId], str | None]


class RegistrationService:
    def __init__(
        self, manager: ResourceManager, tokens: ProxyTokens, running: RunningCheck
    ) -> None:
        self._manager = manager
        self._tokens = tokens
        self._running = running

    def handler(self) -> grpc.GenericRpcHandler:
        register = grpc.unary_unary_rpc_method_handler(
            _refusing(self.register),
            request_deserializer=RegisterRequest.FromString,
            response_serializer=RegisterResponse.SerializeToString,
        )
        deregister = grpc.unary_unary_rpc_method_handler(
            _refusing(self.deregister),
            request_deserializer=DeregisterRequest.FromString,
            response_serializer=DeregisterResponse.SerializeToString,
        )
        return grpc.method_handlers_generic_handler(
            SERVICE, {"Register": register, "Deregister": deregister}
        )

    async def register(
        self, request: RegisterRequest, context: grpc.aio.ServicerContext
    ) -> RegisterResponse:
        document = _dataplane(request.dataplane)
        mesh, name = str(document.get("mesh") or "default"), str(document.get("name") or "")
        if not name:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "the Dataplane has no name")
        kind = ZoneProxy.of(request.proxy_type)
        if kind is not None:
            return await self._register_zone_proxy(kind, document, mesh, name, context)
        fields = {k: v for k, v in document.items() if k not in _META_FIELDS}
        labels = document.get("labels") or {}
        _refuse_control_plane_labels(labels)
        proxy_type = request.proxy_type or "dataplane"
        _, claims = await self._tokens.verify(_metadata(context), mesh, proxy_type)
        check_claims(claims, name, fields, proxy_type)
        existing = await self._manager.store.get(ResourceKey("Dataplane", mesh, name))
        if existing is not None:
            check_claims(claims, name, existing.spec, proxy_type)  # another service's: no
            self._refuse_if_running(existing)
        resource = Resource(type="Dataplane", mesh=mesh, name=name, spec=fields, labels=labels)
        try:
            result = await self._manager.apply(resource)
        except ValidationFailed as failed:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT, f"invalid Dataplane: {failed}"
            ) from None
        except MeshNotFound as missing:
            raise Refused(grpc.StatusCode.FAILED_PRECONDITION, str(missing)) from None
        log.info("dataplane registered", extra={"mesh": mesh, "dataplane": name})
        return RegisterResponse(version=result.resource.version, outcome=result.outcome.value)

    async def _register_zone_proxy(
        self,
        kind: ZoneProxy,
        document: Mapping[str, Any],
        mesh: str,
        name: str,
        context: grpc.aio.ServicerContext,
    ) -> RegisterResponse:
        """An ingress (egress) registers a ZoneIngress (ZoneEgress), of no mesh, with a
        dataplane token of type ingress (egress), issued for the mesh whose traffic it
        passes through, or with the zone token of this zone, with the ingress (egress)
        scope."""
        _, claims = await self._tokens.verify(_metadata(context), mesh, kind.value)
        check_claims(claims, name, {}, kind.value)
        existing = await self._manager.store.get(ResourceKey(kind.resource_type, "", name))
        if existing is not None:
            self._refuse_if_running(existing, mesh)
        spec = {"networking": document.get("networking") or {}}
        resource = Resource(type=kind.resource_type, mesh="", name=name, spec=spec)
        try:
            result = await self._manager.apply(resource)
        except ValidationFailed as failed:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT, f"invalid {kind.resource_type}: {failed}"
            ) from None
        log.info(f"zone {kind} registered", extra={"mesh": mesh, kind.value: name})
        return RegisterResponse(version=result.resource.version, outcome=result.outcome.value)

    async def deregister(
        self, request: DeregisterRequest, context: grpc.aio.ServicerContext
    ) -> DeregisterResponse:
        mesh, name = request.mesh or "default", request.name
        proxy_type = request.proxy_type or "dataplane"
        _, claims = await self._tokens.verify(_metadata(context), mesh, proxy_type)
        kind = ZoneProxy.of(request.proxy_type)
        if kind is not None:
            check_claims(claims, name, {}, kind.value)
            with contextlib.suppress(NotFound):
                await self._manager.store.delete(ResourceKey(kind.resource_type, "", name))
            return DeregisterResponse()
        key = ResourceKey("Dataplane", mesh, name)
        existing = await self._manager.store.get(key)
        if existing is None:
            return DeregisterResponse()
        check_claims(claims, name, existing.spec, proxy_type)
        for doomed in (key, ResourceKey("DataplaneInsight", mesh, name)):
            with contextlib.suppress(NotFound):  # already gone: deregistering is idempotent
                await self._manager.store.delete(doomed)
        log.info("dataplane deregistered", extra={"mesh": mesh, "dataplane": name})
        return DeregisterResponse()

    def _refuse_if_running(self, existing: Resource, mesh: str = "") -> None:
        running = self._running(ProxyId(mesh or existing.mesh, existing.name))
        if running is None:
            return
        networking = DataplaneFields.model_validate(existing.spec).networking
        address = networking.address if networking else "?"
        raise Refused(
            grpc.StatusCode.ALREADY_EXISTS,
            f'dataplane "{existing.name}" of mesh "{existing.mesh}" is already running: its '
            f"proxy at {address} is {running}. Stop that one first, or give this one "
            "another name",
        )


def _refuse_control_plane_labels(labels: Mapping[str, Any]) -> None:
    owned = sorted(CONTROL_PLANE_LABELS & set(labels))
    if owned:
        raise Refused(
            grpc.StatusCode.INVALID_ARGUMENT,
            f'invalid Dataplane: labels["{owned[0]}"]: set by the control plane, '
            "not by a registering proxy",
        )


def _metadata(context: grpc.aio.ServicerContext) -> dict[str, str]:
    return {key: str(value) for key, value in context.invocation_metadata() or ()}


def _dataplane(text: str) -> dict[str, Any]:
    """The Dataplane of a Register call: a JSON object, or nothing at all."""
    try:
        document = json.loads(text or "{}")
    except ValueError as error:
        raise Refused(
            grpc.StatusCode.INVALID_ARGUMENT, f"dataplane: not valid JSON ({error})"
        ) from None
    if not isinstance(document, dict):
        raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "dataplane: must be a JSON object")
    return document


def _refusing(
    method: Callable[[_Request, grpc.aio.ServicerContext], Awaitable[_Response]],
) -> Callable[[_Request, grpc.aio.ServicerContext], Awaitable[_Response]]:
    async def call(request: _Request, context: grpc.aio.ServicerContext) -> _Response:
        try:
            return await method(request, context)
        except Refused as refused:
            log.warning("refused a registration call: %s", refused.reason)
            await context.abort(refused.code, refused.reason)
            raise

    return call
