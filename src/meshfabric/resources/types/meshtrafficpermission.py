"""MeshTrafficPermission: which clients may reach the selected proxies."""

from __future__ import annotations

from typing import Literal

from meshfabric.resources.common import InboundPolicySpec, Strict, TargetRefRules
from meshfabric.resources.model import KdsFlow, ResourceType, Scope


class Conf(Strict):
    action: Literal["Allow", "Deny", "AllowWithShadowDeny"]


class Spec(InboundPolicySpec[Conf]):
    pass


TYPE = ResourceType(
    name="MeshTrafficPermission",
    plural="meshtrafficpermissions",
    scope=Scope.MESH,
    schema=Spec,
    kds=KdsFlow.GLOBAL_TO_ZONE | KdsFlow.ZONE_TO_GLOBAL,
    is_policy=True,
    semantic_checks=(
        TargetRefRules(
            top=("Mesh", "MeshSubset", "MeshService", "MeshServiceSubset", "Dataplane"),
            from_=("Mesh", "MeshSubset", "MeshService", "MeshServiceSubset"),
            needs_section=True,
        ),
    ),
)
