"""The `inventory` stack output (its shape is fixed in docs/inventory.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from meshfabric_aws.hosts import Host
from meshfabric_zones import MeshConfig

INVENTORY_VERSION = 1


def _host_entry(host: Host) -> pulumi.Output[dict[str, Any]]:
    spec = host.spec
    public_ip = host.address.public_ip if host.address is not None else None
    return pulumi.Output.all(host.instance.id, host.instance.private_ip, public_ip).apply(
        lambda values: {
            "name": spec.name,
            "zone": spec.zone,
            "region": spec.region,
            "role": spec.role,
            "instance_id": values[0],
            "private_ip": values[1],
            "public_ip": values[2],
        }
    )


def inventory_output(config: MeshConfig, hosts: Sequence[Host]) -> pulumi.Output[dict[str, Any]]:
    """Zones and hosts as the meshfabric.mesh.pulumi inventory plugin reads them."""
    zones = [
        {"name": zone.name, "region": zone.region, "kind": zone.kind, "cidr": str(zone.cidr)}
        for zone in config.zones
    ]
    return pulumi.Output.all(*(_host_entry(host) for host in hosts)).apply(
        lambda entries: {
            "version": INVENTORY_VERSION,
            "ssh_user": config.ssh_user,
            "zones": zones,
            "hosts": list(entries),
        }
    )
