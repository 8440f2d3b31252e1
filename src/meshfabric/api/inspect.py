"""Inspection: the Envoy config the control plane generates for a dataplane."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from meshfabric.api.context import ApiContext, context
from meshfabric.api.errors import ApiError

Ctx = Annotated[ApiContext, Depends(context)]

router = APIRouter(tags=["Inspect"])


@router.get(
    "/meshes/{mesh}/dataplanes/{name}/_config",
    summary="The Envoy config of a dataplane and the policies that shaped it",
)
async def dataplane_config(ctx: Ctx, mesh: str, name: str) -> dict[str, Any]:
    if ctx.inspector is None:
        raise ApiError(400, "Bad Request", "only a zone control plane generates Envoy config")
    config = await ctx.inspector.dataplane_config(mesh, name)
    if config is None:
        raise ApiError(404, "Not found", f"Dataplane {mesh}/{name} not found")
    return config
