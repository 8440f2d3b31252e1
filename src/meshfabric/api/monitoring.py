"""Prometheus HTTP service discovery: `GET /meshes/{mesh}/monitoring-assignments` lists the
metrics endpoints of a mesh's proxies (`_all`: of every mesh), on a zone for its own proxies
and on global for every zone's. Any user token reads it; give Prometheus a read-only one."""

from typing import Annotated

from fastapi import APIRouter, Depends

from meshfabric.api.context import ApiContext, context
from meshfabric.insights.monitoring import POLICY_TYPE, TargetGroup, assignments

Ctx = Annotated[ApiContext, Depends(context)]
ALL_MESHES = "_all"

router = APIRouter(tags=["Monitoring"])


@router.get(
    "/meshes/{mesh}/monitoring-assignments",
    summary="Prometheus http_sd targets: the MeshMetric endpoints of the mesh's proxies",
)
async def monitoring_assignments(ctx: Ctx, mesh: str) -> list[TargetGroup]:
    which = None if mesh == ALL_MESHES else mesh
    store = ctx.manager.store
    dataplanes = (await store.list("Dataplane", which)).items
    policies = (await store.list(POLICY_TYPE, which)).items
    return assignments(dataplanes, policies, ctx.settings.zone)
