"""A zone's ingresses and egresses as global sees them (synced from the zone, labelled with
it), and what a zone lacks: an ingress other zones cannot dial leaves the zone's services
unreachable from them, and a mesh that requires zoneEgress in a zone with no ZoneEgress has
no way out of that zone (its sidecars fail closed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from meshfabric.resources import Parsed, Resource
from meshfabric.resources.origin import ZONE_LABEL
from meshfabric.resources.types.mesh import MeshFields
from meshfabric.resources.types.zoneingress import ZoneIngressFields, unreachable_reason


def zone_proxies(
    zone: str,
    ingresses: Iterable[Resource],
    egresses: Iterable[Resource],
    meshes: Iterable[Parsed[MeshFields]],
) -> dict[str, Any]:
    """`zoneIngresses` and `zoneEgresses` (how many the zone registered) and `warnings`."""
    own_ingresses = [ingress for ingress in ingresses if ingress.labels.get(ZONE_LABEL) == zone]
    egress_count = sum(1 for egress in egresses if egress.labels.get(ZONE_LABEL) == zone)
    warnings = [*_unreachable_ingresses(zone, own_ingresses)]
    warnings += [
        f'mesh "{mesh.name}" requires zoneEgress (routing.zoneEgress: true) and zone "{zone}" '
        "has no ZoneEgress: its calls to other zones and to MeshExternalServices fail"
        for mesh in meshes
        if mesh.fields.zone_egress_required and not egress_count
    ]
    return {"zoneIngresses": len(own_ingresses), "zoneEgresses": egress_count, "warnings": warnings}


def _unreachable_ingresses(zone: str, ingresses: Iterable[Resource]) -> Iterable[str]:
    for ingress in ingresses:
        reason = unreachable_reason(Parsed.of(ingress, ZoneIngressFields).fields.networking)
        if reason is not None:
            yield (
                f'ZoneIngress "{ingress.name}" of zone "{zone}" {reason}: other zones cannot '
                "reach this zone's services through it"
            )
