"""ZoneEgress: the single exit of a zone to other zones and external services (zoneegress.proto)."""

from __future__ import annotations

from meshfabric.resources.common import (
    EnvoyAdmin,
    Proto,
    UInt32,
    address_violations,
    admin_port_violations,
    port_violations,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import Affects, KdsFlow, ResourceType, Scope


class Networking(Proto):
    address: str = ""
    port: UInt32 = 0
    admin: EnvoyAdmin | None = None


class ZoneEgressFields(Proto):
    zone: str | None = None
    networking: Networking | None = None


def _check(egress: ZoneEgressFields) -> list[Violation]:
    networking = egress.networking or Networking()
    violations = admin_port_violations(networking.admin, (networking.address, networking.port))
    if networking.address:
        # Kuma names the field twice here.
        violations += address_violations("networking.address.address", networking.address)
    return violations + port_violations("networking.port", networking.port)


TYPE = ResourceType(
    name="ZoneEgress",
    plural="zoneegresses",
    scope=Scope.GLOBAL,
    apply_order=70,
    schema=ZoneEgressFields,
    kds=KdsFlow.ZONE_TO_GLOBAL,
    has_spec=False,
    # When a mesh requires zoneEgress, this zone's egresses are every sidecar's way to the
    # services of other zones.
    affects=Affects.EVERY_PROXY,
    semantic_checks=(_check,),
)
