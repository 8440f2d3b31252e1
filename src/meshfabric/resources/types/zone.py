"""Zone: a zone known to the global control plane, which can be switched off (Kuma's zone.proto)."""

from __future__ import annotations

from meshfabric.resources.common import Proto
from meshfabric.resources.model import KdsFlow, ResourceType, Scope
from meshfabric.resources.names import NameRule


class ZoneFields(Proto):
    # Unset means enabled: a disabled zone keeps its resources but gets no traffic.
    enabled: bool | None = None


TYPE = ResourceType(
    name="Zone",
    plural="zones",
    scope=Scope.GLOBAL,
    apply_order=15,
    schema=ZoneFields,
    kds=KdsFlow.NONE,
    has_spec=False,
    name_rule=NameRule.LABEL,
)
