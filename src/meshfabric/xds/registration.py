"""Dataplane registration on the xDS port: meshfabric-dp registers its Dataplane before
starting Envoy and deregisters it on shutdown, authenticated by its dataplane token.

The calls are unary gRPC with JSON bodies, so the proxy side needs nothing but grpcio:
Register {"dataplane": {<Dataplane as in YAML>}, "proxyType": "dataplane"} -> {"version": n}
Deregister {"mesh": m, "name": n} -> {}
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import grpc

from meshfabric.resources import Resource, ResourceKey, ValidationFailed
from meshfabric.store.errors import MeshNotFound, NotFound
from meshfabric.store.manager import ResourceManager
from meshfabric.tokens import TokenIssuer
from meshfabric.xds.auth import check_claims, verify_token
from meshfabric.xds.server import Refused

log = logging.getLogger(__name__)

SERVICE = "meshfabric.dataplane.v1.Registration"
REGISTER_METHOD = f"/{SERVICE}/Register"
DEREGISTER_METHOD = f"/{SERVICE}/Deregister"
_META_FIELDS = ("type", "mesh", "name", "labels", "creationTime", "modificationTime")

Body = dict[str, Any]


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body).encode()


def decode(data: bytes) -> Body:
    body = json.loads(data or b"{}")
    if not isinstance(body, dict):
        raise ValueError("the request must be a JSON object")
    return body


class RegistrationService:
    def __init__(self, manager: ResourceManager, tokens: TokenIssuer) -> None:
        self._manager = manager
        self._tokens = tokens

    def handler(self) -> grpc.GenericRpcHandler:
        def unary(method: Callable[[Body, grpc.aio.ServicerContext], Awaitable[Body]]) -> Any:
            return grpc.unary_unary_rpc_method_handler(
                _refusing(method), request_deserializer=decode, response_serializer=encode
            )

        return grpc.method_handlers_generic_handler(
            SERVICE, {"Register": unary(self.register), "Deregister": unary(self.deregister)}
        )

    async def register(self, request: Body, context: grpc.aio.ServicerContext) -> Body:
        document = request.get("dataplane") or {}
        mesh, name = str(document.get("mesh") or "default"), str(document.get("name") or "")
        if not name:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "the Dataplane has no name")
        fields = {k: v for k, v in document.items() if k not in _META_FIELDS}
        claims = await verify_token(self._tokens, _metadata(context), mesh)
        check_claims(claims, name, fields, str(request.get("proxyType") or "dataplane"))
        resource = Resource(
            type="Dataplane", mesh=mesh, name=name, spec=fields, labels=document.get("labels") or {}
        )
        try:
            result = await self._manager.apply(resource)
        except ValidationFailed as failed:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT, f"invalid Dataplane: {failed}"
            ) from None
        except MeshNotFound as missing:
            raise Refused(grpc.StatusCode.FAILED_PRECONDITION, str(missing)) from None
        log.info("dataplane registered", extra={"mesh": mesh, "dataplane": name})
        return {"version": result.resource.version, "outcome": result.outcome.value}

    async def deregister(self, request: Body, context: grpc.aio.ServicerContext) -> Body:
        mesh, name = str(request.get("mesh") or "default"), str(request.get("name") or "")
        claims = await verify_token(self._tokens, _metadata(context), mesh)
        key = ResourceKey("Dataplane", mesh, name)
        existing = await self._manager.store.get(key)
        if existing is None:
            return {}
        check_claims(claims, name, existing.spec, str(request.get("proxyType") or "dataplane"))
        for doomed in (key, ResourceKey("DataplaneInsight", mesh, name)):
            with contextlib.suppress(NotFound):  # already gone: deregistering is idempotent
                await self._manager.store.delete(doomed)
        log.info("dataplane deregistered", extra={"mesh": mesh, "dataplane": name})
        return {}


def _metadata(context: grpc.aio.ServicerContext) -> dict[str, str]:
    return {key: str(value) for key, value in context.invocation_metadata() or ()}


def _refusing(
    method: Callable[[Body, grpc.aio.ServicerContext], Awaitable[Body]],
) -> Callable[[Body, grpc.aio.ServicerContext], Awaitable[Body]]:
    async def call(request: Body, context: grpc.aio.ServicerContext) -> Body:
        try:
            return await method(request, context)
        except Refused as refused:
            log.warning("refused a registration call: %s", refused.reason)
            await context.abort(refused.code, refused.reason)
            raise

    return call
