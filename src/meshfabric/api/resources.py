"""CRUD routes for every resource type, generated from the registry.

Each type gets its own routes and request model, so the OpenAPI document describes every
type's real schema. (No `from __future__ import annotations` here: FastAPI reads the
per-type body model from the handlers' annotations at run time.)
"""

import functools
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, create_model

from meshfabric.api import secrets
from meshfabric.api.auth import Principal, principal
from meshfabric.api.context import ApiContext, context
from meshfabric.api.errors import ApiError, invalid_resource
from meshfabric.api.representation import from_json, to_json
from meshfabric.resources import KdsFlow, Resource, ResourceKey, ResourceType, Scope
from meshfabric.resources.origin import ORIGIN_GLOBAL, ORIGIN_LABEL, ORIGIN_ZONE, ZONE_LABEL
from meshfabric.store.manager import Outcome, WriteGuard

_LABEL_FILTER = re.compile(r"^filter\[labels\.(.+)\]$")
_ETAG = re.compile(r'^(W/)?"?(\d+)"?$')

Ctx = Annotated[ApiContext, Depends(context)]
Who = Annotated[Principal, Depends(principal)]
Size = Annotated[int, Query(ge=1, le=1000, description="Items per page")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="Items to skip")]
DryRun = Annotated[
    bool, Query(alias="dryRun", description="Validate and answer as a write would, write nothing")
]
IfMatch = Annotated[
    str | None,
    Header(description="Version from a previous ETag; the write fails with 409 if it changed"),
]


class ResourceList(BaseModel):
    total: int
    items: list[dict[str, Any]]
    next: str | None


def router_for(rtype: ResourceType) -> APIRouter:
    """The routes of one type: mesh-scoped ones under /meshes/{mesh}, global ones at the root."""
    body_model = _request_model(rtype)
    router = APIRouter(tags=[rtype.name])
    item = f"/{rtype.plural}/{{name}}"

    if rtype.scope is Scope.MESH:

        @router.get(f"/meshes/{{mesh}}/{rtype.plural}", summary=f"List {rtype.plural_display_name}")
        async def list_in_mesh(
            request: Request, ctx: Ctx, who: Who, mesh: str, size: Size = 100, offset: Offset = 0
        ) -> ResourceList:
            return await _list(request, ctx, who, rtype, mesh, size, offset)

        @router.get(f"/meshes/{{mesh}}{item}", summary=f"Get a {rtype.singular_display_name}")
        async def get_in_mesh(
            ctx: Ctx, who: Who, mesh: str, name: str, response: Response
        ) -> dict[str, Any]:
            return await _get(ctx, who, rtype, mesh, name, response)

        @router.put(f"/meshes/{{mesh}}{item}", summary=f"Create or update a {rtype.name}")
        async def put_in_mesh(
            request: Request,
            ctx: Ctx,
            mesh: str,
            name: str,
            body: Annotated[body_model, Body()],  # type: ignore[valid-type]
            response: Response,
            dry_run: DryRun = False,
            if_match: IfMatch = None,
        ) -> dict[str, Any]:
            raw = await request.json()
            return await _put(ctx, rtype, mesh, name, raw, response, dry_run, if_match)

        @router.delete(f"/meshes/{{mesh}}{item}", summary=f"Delete a {rtype.name}")
        async def delete_in_mesh(
            ctx: Ctx, mesh: str, name: str, if_match: IfMatch = None
        ) -> dict[str, Any]:
            return await _delete(ctx, rtype, mesh, name, if_match)

        @router.get(f"/{rtype.plural}", summary=f"List {rtype.plural_display_name} of all meshes")
        async def list_all_meshes(
            request: Request, ctx: Ctx, who: Who, size: Size = 100, offset: Offset = 0
        ) -> ResourceList:
            return await _list(request, ctx, who, rtype, None, size, offset)

        return router

    @router.get(f"/{rtype.plural}", summary=f"List {rtype.plural_display_name}")
    async def list_global(
        request: Request, ctx: Ctx, who: Who, size: Size = 100, offset: Offset = 0
    ) -> ResourceList:
        return await _list(request, ctx, who, rtype, "", size, offset)

    @router.get(item, summary=f"Get a {rtype.singular_display_name}")
    async def get_global(ctx: Ctx, who: Who, name: str, response: Response) -> dict[str, Any]:
        return await _get(ctx, who, rtype, "", name, response)

    @router.put(item, summary=f"Create or update a {rtype.name}")
    async def put_global(
        request: Request,
        ctx: Ctx,
        name: str,
        body: Annotated[body_model, Body()],  # type: ignore[valid-type]
        response: Response,
        dry_run: DryRun = False,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        raw = await request.json()
        return await _put(ctx, rtype, "", name, raw, response, dry_run, if_match)

    @router.delete(item, summary=f"Delete a {rtype.name}")
    async def delete_global(ctx: Ctx, name: str, if_match: IfMatch = None) -> dict[str, Any]:
        return await _delete(ctx, rtype, "", name, if_match)

    return router


async def _list(
    request: Request,
    ctx: ApiContext,
    who: Principal,
    rtype: ResourceType,
    mesh: str | None,
    size: int,
    offset: int,
) -> ResourceList:
    labels = {
        match.group(1): value
        for key, value in request.query_params.items()
        if (match := _LABEL_FILTER.match(key))
    }
    page = await ctx.manager.store.list(rtype.name, mesh, labels, offset, size)
    following = None
    if offset + len(page.items) < page.total:
        # A path, not a URL: the Host header is the client's to choose, so it is not echoed.
        url = request.url.include_query_params(offset=offset + size, size=size)
        following = f"{url.path}?{url.query}"
    items = [_served(who, rtype, resource) for resource in page.items]
    return ResourceList(total=page.total, items=items, next=following)


async def _get(
    ctx: ApiContext, who: Principal, rtype: ResourceType, mesh: str, name: str, response: Response
) -> dict[str, Any]:
    resource = await ctx.manager.store.get(ResourceKey(rtype.name, mesh, name))
    if resource is None:
        raise ApiError(404, "Not found", f"{rtype.name} {_where(mesh, name)} not found")
    response.headers["ETag"] = f'"{resource.version}"'
    return _served(who, rtype, resource)


async def _put(
    ctx: ApiContext,
    rtype: ResourceType,
    mesh: str,
    name: str,
    raw: dict[str, Any],
    response: Response,
    dry_run: bool,
    if_match: str | None,
) -> dict[str, Any]:
    labels = {**(raw.get("labels") or {}), **_origin_labels(ctx)}
    resource = from_json(rtype, raw, mesh, name, labels)
    if unusable := secrets.violations(resource):
        raise invalid_resource(unusable)
    result = await ctx.manager.apply(
        resource, _version(if_match), dry_run=dry_run, guard=_ownership_guard(ctx, rtype)
    )
    response.status_code = 201 if result.outcome is Outcome.CREATED else 200
    if not dry_run:
        response.headers["ETag"] = f'"{result.resource.version}"'
    served = to_json(rtype, result.resource)
    if secrets.is_withheld(resource.key):
        served.pop("data", None)
    warnings = rtype.warnings(resource.spec)
    return {"outcome": result.outcome.value, "warnings": warnings, **served}


async def _delete(
    ctx: ApiContext, rtype: ResourceType, mesh: str, name: str, if_match: str | None
) -> dict[str, Any]:
    key = ResourceKey(rtype.name, mesh, name)
    await ctx.manager.delete(key, _version(if_match), guard=_ownership_guard(ctx, rtype))
    return {}


def _served(who: Principal, rtype: ResourceType, resource: Resource) -> dict[str, Any]:
    """Secret data goes to admins only, and the control plane's own keys to no one."""
    body = to_json(rtype, resource)
    if rtype.sensitive and (not who.is_admin or secrets.is_withheld(resource.key)):
        body.pop("data", None)
    return body


def _ownership_guard(ctx: ApiContext, rtype: ResourceType) -> WriteGuard:
    return functools.partial(_check_ownership, ctx, rtype)


def _check_ownership(ctx: ApiContext, rtype: ResourceType, existing: Resource | None) -> None:
    """Each resource has one owner: global for what it pushes to zones, a zone for its own.
    What a control plane received over KDS is changed and deleted where it was made."""
    settings = ctx.settings
    if settings.federated:
        zone_may_write = bool(rtype.kds & (KdsFlow.ZONE_TO_GLOBAL | KdsFlow.ZONE_TO_ZONES))
        if not zone_may_write:
            raise ApiError(
                400,
                "Bad Request",
                f"You are trying to modify a {rtype.name} on a zone control plane. In a "
                "multi-zone setup it is managed on the global control plane and synced to "
                "the zones: apply it there.",
            )
        if existing is not None and _made_elsewhere(existing, settings.zone):
            raise _synced(existing)
    elif settings.mode == "global":
        if rtype.kds & KdsFlow.ZONE_TO_GLOBAL and not (rtype.kds & KdsFlow.GLOBAL_TO_ZONE):
            raise ApiError(
                400,
                "Bad Request",
                f"You are trying to modify a {rtype.name} on the global control plane. It is "
                "registered by the zone control plane of its zone and synced to global.",
            )
        if existing is not None and existing.labels.get(ORIGIN_LABEL) == ORIGIN_ZONE:
            raise _synced(existing)


def _made_elsewhere(resource: Resource, zone: str) -> bool:
    """Whether a resource held in this zone was made at global or in another zone."""
    origin = resource.labels.get(ORIGIN_LABEL)
    return origin == ORIGIN_GLOBAL or (
        origin == ORIGIN_ZONE and resource.labels.get(ZONE_LABEL) != zone
    )


def _synced(resource: Resource) -> ApiError:
    labels = resource.labels
    if labels.get(ORIGIN_LABEL) == ORIGIN_GLOBAL:
        origin, made, owner = ORIGIN_GLOBAL, "at global", "the global control plane"
    else:
        zone = labels.get(ZONE_LABEL, "?")
        origin, made = f"{ORIGIN_ZONE}, {ZONE_LABEL}: {zone}", f'in zone "{zone}"'
        owner = f'the control plane of zone "{zone}"'
    return ApiError(
        400,
        "Bad Request",
        f"{resource.key} was made {made} and synced here ({ORIGIN_LABEL}: {origin}): it "
        f"cannot be changed or deleted here. Change or delete it on {owner}.",
    )


def _origin_labels(ctx: ApiContext) -> dict[str, str]:
    if ctx.settings.federated:
        return {ORIGIN_LABEL: ORIGIN_ZONE, ZONE_LABEL: ctx.settings.zone}
    if ctx.settings.mode == "global":
        return {ORIGIN_LABEL: ORIGIN_GLOBAL}
    return {}


def _version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    match = _ETAG.match(if_match.strip())
    if not match:
        raise ApiError(400, "Bad Request", f'If-Match: "{if_match}" is not a version from an ETag')
    return int(match.group(2))


def _where(mesh: str, name: str) -> str:
    return f"{mesh}/{name}" if mesh else name


def _request_model(rtype: ResourceType) -> type[BaseModel]:
    meta: dict[str, Any] = {
        "type": (Literal[rtype.name], ...),
        "name": (str, ...),
        "labels": (dict[str, str] | None, None),
        "creationTime": (str | None, None),
        "modificationTime": (str | None, None),
        "status": (dict[str, Any] | None, None),  # kept by the server, ignored when sent
    }
    if rtype.scope is Scope.MESH:
        meta["mesh"] = (str | None, None)
    if rtype.has_spec:
        return create_model(
            f"{rtype.name}Item",
            __config__=ConfigDict(extra="forbid"),
            spec=(rtype.schema, ...),
            **meta,
        )
    return create_model(f"{rtype.name}Item", __base__=rtype.schema, **meta)
