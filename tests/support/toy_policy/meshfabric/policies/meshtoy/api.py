"""MeshToy's schema: a per-connection buffer limit for the clusters of selected outbounds."""

from __future__ import annotations

from pydantic import Field

from meshfabric.resources.common import OutboundPolicySpec, Strict, TargetRefRules
from meshfabric.resources.model import policy_type


class Conf(Strict):
    bufferLimitBytes: int = Field(ge=1024)


Spec = OutboundPolicySpec[Conf]

TYPE = policy_type(
    name="MeshToy",
    plural="meshtoys",
    short_name="mtoy",
    schema=Spec,
    semantic_checks=(TargetRefRules(top=("Mesh",), to=("Mesh", "MeshService")),),
)
