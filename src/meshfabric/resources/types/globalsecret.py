"""GlobalSecret: a secret outside any mesh, used by the control plane itself (zone tokens)."""

from __future__ import annotations

from meshfabric.resources.model import KdsFlow, ResourceType, Scope
from meshfabric.resources.types.secret import SecretFields

TYPE = ResourceType(
    name="GlobalSecret",
    plural="global-secrets",
    scope=Scope.GLOBAL,
    apply_order=15,
    schema=SecretFields,
    kds=KdsFlow.NONE,
    has_spec=False,
    sensitive=True,
)
