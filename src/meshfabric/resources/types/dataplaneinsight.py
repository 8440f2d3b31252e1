"""DataplaneInsight: what a zone control plane records of one proxy's xDS connections
(Kuma's dataplane_insight.proto). The zone writes it, global keeps a copy synced from the
zone; no user writes it, so it has no CRUD routes and is not in the registry."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from meshfabric.resources.model import KdsFlow, ResourceType, Scope


class InsightFields(BaseModel):
    # Newer zones may record more than this version knows: kept, not refused.
    model_config = ConfigDict(extra="allow")

    subscriptions: list[dict[str, Any]] = []
    mTLS: dict[str, Any] | None = None


TYPE = ResourceType(
    name="DataplaneInsight",
    plural="dataplane-insights",
    scope=Scope.MESH,
    apply_order=90,
    schema=InsightFields,
    kds=KdsFlow.ZONE_TO_GLOBAL,
    has_spec=False,
)
