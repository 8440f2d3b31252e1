"""Prometheus service discovery, on a zone for its own proxies and on global for every
zone's. Any user token reads it; give Prometheus a read-only one.

- `GET /meshes/{mesh}/monitoring-assignments` (`_all`: every mesh): Prometheus' HTTP SD.
- `POST /v3/discovery:monitoringassignments`: Kuma's MADS over HTTP, as Prometheus'
  `kuma_sd_configs` fetches it (a DiscoveryRequest in JSON; 304 when its `versionInfo` is
  current). The fetch timeout it asks for is not waited out: the answer comes at once.
"""

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response

from meshfabric.api.context import ApiContext, context
from meshfabric.insights.monitoring import (
    MADS_TYPE_URL,
    POLICY_TYPE,
    TargetGroup,
    assignments,
    mads_assignments,
)

Ctx = Annotated[ApiContext, Depends(context)]
ALL_MESHES = "_all"

router = APIRouter(tags=["Monitoring"])


@router.get(
    "/meshes/{mesh}/monitoring-assignments",
    summary="Prometheus http_sd targets: the MeshMetric endpoints of the mesh's proxies",
)
async def monitoring_assignments(ctx: Ctx, mesh: str) -> list[TargetGroup]:
    return await _target_groups(ctx, None if mesh == ALL_MESHES else mesh)


@router.post(
    "/v3/discovery:monitoringassignments",
    summary="Kuma's MADS over HTTP (Prometheus kuma_sd): every mesh's MeshMetric endpoints",
    response_model=None,
)
async def mads(
    ctx: Ctx, request: Annotated[dict[str, Any] | None, Body()] = None
) -> dict[str, Any] | Response:
    resources = mads_assignments(await _target_groups(ctx, None))
    encoded = json.dumps(resources, sort_keys=True).encode()
    version = hashlib.sha256(encoded).hexdigest()[:16]
    if (request or {}).get("versionInfo") == version:
        return Response(status_code=304)
    return {
        "versionInfo": version,
        "resources": resources,
        "typeUrl": MADS_TYPE_URL,
        "nonce": version,
    }


async def _target_groups(ctx: ApiContext, mesh: str | None) -> list[TargetGroup]:
    store = ctx.manager.store
    dataplanes = (await store.list("Dataplane", mesh)).items
    policies = (await store.list(POLICY_TYPE, mesh)).items
    return assignments(dataplanes, policies, ctx.settings.zone)
