"""Tags carried by every AWS resource; the aws_ec2 inventory plugin reads them from VMs."""

from __future__ import annotations

from typing import Literal

HostRole = Literal[
    "global_control_plane", "zone_control_plane", "zone_ingress", "zone_egress", "dataplane"
]
# Roles of the resources that are not mesh hosts.
InfraRole = Literal["network", "kubernetes", "ssh"]

GLOBAL_ZONE = "global"


def mesh_tags(zone: str, role: HostRole | InfraRole, name: str) -> dict[str, str]:
    """`Name`, `meshfabric:zone` and `meshfabric:role` for one resource."""
    return {"Name": name, "meshfabric:zone": zone, "meshfabric:role": role}
