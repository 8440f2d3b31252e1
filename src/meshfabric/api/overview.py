"""Kuma's DataplaneOverview: a Dataplane together with its DataplaneInsight (the proxy's
xDS subscriptions: when it connected to which control plane, what it accepted and refused)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from meshfabric.api.context import ApiContext, context
from meshfabric.api.errors import ApiError
from meshfabric.api.representation import META_FIELDS, to_json
from meshfabric.api.resources import Offset, ResourceList, Size
from meshfabric.resources import REGISTRY, Resource, ResourceKey

Ctx = Annotated[ApiContext, Depends(context)]

router = APIRouter(tags=["Dataplane"])


@router.get(
    "/meshes/{mesh}/dataplanes/_overview",
    summary="List Dataplanes with their insights",
)
async def list_overviews(
    request: Request, ctx: Ctx, mesh: str, size: Size = 100, offset: Offset = 0
) -> ResourceList:
    store = ctx.manager.store
    page = await store.list("Dataplane", mesh, None, offset, size)
    items = [await _overview(ctx, dataplane) for dataplane in page.items]
    following = None
    if offset + len(page.items) < page.total:
        following = str(request.url.include_query_params(offset=offset + size, size=size))
    return ResourceList(total=page.total, items=items, next=following)


@router.get(
    "/meshes/{mesh}/dataplanes/{name}/_overview",
    summary="A Dataplane with its insight",
)
async def get_overview(ctx: Ctx, mesh: str, name: str) -> dict[str, Any]:
    dataplane = await ctx.manager.store.get(ResourceKey("Dataplane", mesh, name))
    if dataplane is None:
        raise ApiError(404, "Not found", f"Dataplane {mesh}/{name} not found")
    return await _overview(ctx, dataplane)


async def _overview(ctx: ApiContext, dataplane: Resource) -> dict[str, Any]:
    body = to_json(REGISTRY.get("Dataplane"), dataplane)
    insight = await ctx.manager.store.get(
        ResourceKey("DataplaneInsight", dataplane.mesh, dataplane.name)
    )
    return {
        **{key: body[key] for key in META_FIELDS if key in body},
        "type": "DataplaneOverview",
        "dataplane": {key: value for key, value in body.items() if key not in META_FIELDS},
        "dataplaneInsight": insight.spec if insight else {"subscriptions": []},
    }
