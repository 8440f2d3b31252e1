# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Turn the meshfabric inventory document into Ansible groups and host variables.

The document's shape, the groups and the host variables are fixed in
docs/inventory.md. Every inventory plugin of the collection (pulumi, aws_ec2)
builds the document its own way and hands it to populate_inventory(), so
they all produce the same groups and variables.
"""

from __future__ import annotations

import re
from typing import Any

SUPPORTED_VERSION = 1

ROLE_GROUPS = {
    "global_control_plane": "global_control_plane",
    "zone_control_plane": "zone_control_plane",
    "zone_ingress": "zone_ingress",
    "zone_egress": "zone_egress",
    "dataplane": "dataplanes",
}

REQUIRED_HOST_KEYS = ("name", "zone", "region", "role", "private_ip")


class InventoryDataError(ValueError):
    """The document does not have the documented shape; the message names the key."""


def zone_group(zone: str) -> str:
    """The group of a zone: `zone_` plus the name with every non-word character as `_`."""
    return "zone_" + re.sub(r"[^A-Za-z0-9_]", "_", zone)


def host_variables(host: dict[str, Any], ssh_user: str | None) -> dict[str, Any]:
    """The variables of one host entry."""
    variables = {
        "ansible_host": host.get("public_ip") or host["private_ip"],
        "meshfabric_zone": host["zone"],
        "meshfabric_role": host["role"],
        "meshfabric_region": host["region"],
        "meshfabric_instance_id": host.get("instance_id"),
        "meshfabric_private_ip": host["private_ip"],
        "meshfabric_public_ip": host.get("public_ip"),
    }
    if ssh_user:
        variables["ansible_user"] = ssh_user
    return variables


def _host_problems(where: str, host: object, seen_names: set[object]) -> list[str]:
    if not isinstance(host, dict):
        return [f"{where}: must be an object"]
    problems = [f"{where}.{key}: is required" for key in REQUIRED_HOST_KEYS if not host.get(key)]
    role = host.get("role")
    if role and role not in ROLE_GROUPS:
        problems.append(f"{where}.role: must be one of {', '.join(sorted(ROLE_GROUPS))}")
    name = host.get("name")
    if name in seen_names:
        problems.append(f"{where}.name: {name} appears more than once")
    seen_names.add(name)
    return problems


def validate_inventory(data: object) -> None:
    """Raise InventoryDataError naming every key that breaks the documented shape."""
    if not isinstance(data, dict):
        raise InventoryDataError(f"the inventory must be an object, not {type(data).__name__}")
    if data.get("version") != SUPPORTED_VERSION:
        raise InventoryDataError(
            f"version: {data.get('version')!r} is not supported (expected {SUPPORTED_VERSION})"
        )
    hosts = data.get("hosts")
    if not isinstance(hosts, list):
        raise InventoryDataError("hosts: must be a list")
    seen_names: set[object] = set()  # a missing name counts too
    problems = [
        problem
        for index, host in enumerate(hosts)
        for problem in _host_problems(f"hosts[{index}]", host, seen_names)
    ]
    if problems:
        raise InventoryDataError("; ".join(problems))


def populate_inventory(inventory: Any, data: dict[str, Any]) -> None:
    """Add every host of `data` to `inventory` (an Ansible InventoryData), groups and variables.

    Raises InventoryDataError before touching `inventory` if `data` is malformed.
    """
    validate_inventory(data)
    ssh_user = data.get("ssh_user")
    for host in data["hosts"]:
        name = host["name"]
        for group in (ROLE_GROUPS[host["role"]], zone_group(host["zone"])):
            inventory.add_group(group)
            inventory.add_host(name, group=group)
        for key, value in host_variables(host, ssh_user).items():
            inventory.set_variable(name, key, value)
