"""ZoneIngress: the entry point of a zone for traffic from other zones (zone_ingress.proto)."""

from __future__ import annotations

import ipaddress

from meshfabric.resources.common import (
    EnvoyAdmin,
    Labels,
    Proto,
    UInt32,
    address_violations,
    admin_port_violations,
    port_violations,
    tag_violations,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import Affects, KdsFlow, ResourceType, Scope


class Networking(Proto):
    address: str = ""
    # What other zones dial: the public side of a load balancer or NAT, if any.
    advertisedAddress: str = ""
    port: UInt32 = 0
    advertisedPort: UInt32 = 0
    admin: EnvoyAdmin | None = None


class AvailableService(Proto):
    tags: Labels | None = None
    instances: UInt32 | None = None
    mesh: str | None = None
    externalService: bool | None = None


class ZoneIngressFields(Proto):
    zone: str | None = None
    networking: Networking | None = None
    availableServices: list[AvailableService] | None = None


def unreachable_reason(networking: Networking | None) -> str | None:
    """Why other zones cannot dial an ingress at what it advertises; None when they can."""
    if networking is None or not (networking.advertisedAddress and networking.advertisedPort):
        return "has no advertised address and port"
    try:
        address = ipaddress.ip_address(networking.advertisedAddress)
    except ValueError:  # a hostname: other zones resolve it
        return None
    # A loopback address stays usable: zones that share one host (a lab, a test) reach it.
    if address.is_unspecified:
        return f"advertises {address}, which no other zone can dial"
    return None


def _check(ingress: ZoneIngressFields) -> list[Violation]:
    networking = ingress.networking or Networking()
    violations = admin_port_violations(
        networking.admin,
        (networking.address, networking.port),
        (networking.advertisedAddress, networking.advertisedPort),
    )
    if networking.advertisedPort and not networking.advertisedAddress:
        reason = "has to be defined with advertisedPort"
        violations.append(Violation("networking.advertisedAddress", reason))
    if networking.advertisedAddress and not networking.advertisedPort:
        reason = "has to be defined with advertisedAddress"
        violations.append(Violation("networking.advertisedPort", reason))
    for name in ("address", "advertisedAddress"):
        if getattr(networking, name):
            # Kuma names the field twice here: networking.address.address.
            path = f"networking.{name}.address"
            violations += address_violations(path, getattr(networking, name))
    violations += port_violations("networking.port", networking.port)
    if networking.advertisedPort:
        violations += port_violations("networking.advertisedPort", networking.advertisedPort)
    for index, service in enumerate(ingress.availableServices or []):
        # Kuma's path names the field in the singular.
        path = f"availableService[{index}].tags"
        violations += tag_violations(path, service.tags or {}, require_service=True)
    return violations


TYPE = ResourceType(
    name="ZoneIngress",
    plural="zoneingresses",
    scope=Scope.GLOBAL,
    apply_order=70,
    schema=ZoneIngressFields,
    # Each zone registers its ingress up to global, which hands it to every other zone.
    kds=KdsFlow.ZONE_TO_GLOBAL | KdsFlow.ZONE_TO_ZONES,
    has_spec=False,
    # Other zones' ingresses are the endpoints of their services in every sidecar.
    affects=Affects.EVERY_PROXY,
    semantic_checks=(_check,),
)
