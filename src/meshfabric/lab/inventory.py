"""What the lab tells others about itself: the status listing and an Ansible inventory."""

from __future__ import annotations

import importlib.util
import shlex
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from meshfabric.lab.lab import Lab
from meshfabric.lab.ssh import proxy_command
from meshfabric.lab.topology import PlannedHost, Role

# Each lab role as a role of the collection's inventory document (docs/inventory.md).
DOCUMENT_ROLES = {
    Role.GLOBAL_CONTROL_PLANE: "global_control_plane",
    Role.ZONE_CONTROL_PLANE: "zone_control_plane",
    Role.INGRESS: "zone_ingress",
    Role.EGRESS: "zone_egress",
    Role.APP: "dataplane",
}
PYTHON_INTERPRETER = "/usr/bin/python3"
# The collection's inventory plugins' groups and host variables are made in one module; the
# lab uses that module too, so its inventory has the same groups as theirs.
_COLLECTION_INVENTORY = Path(__file__).parents[3] / "plugins" / "module_utils" / "inventory.py"


@cache
def _collection_inventory() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_meshfabric_inventory", _COLLECTION_INVENTORY)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"the collection's inventory module {_COLLECTION_INVENTORY}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def role_group(role: Role) -> str:
    """The group of a role's hosts, the one the collection's inventory plugins make."""
    group: str = _collection_inventory().ROLE_GROUPS[DOCUMENT_ROLES[role]]
    return group


def zone_group(zone: str) -> str:
    """`zone_us_east_1`, the zone's group as the collection's inventory plugins name it."""
    group: str = _collection_inventory().zone_group(zone)
    return group


def status(lab: Lab) -> dict[str, Any]:
    return {
        "lab": lab.plan.lab_id,
        "topology": lab.plan.topology,
        "zoneEgress": lab.plan.zone_egress,
        "stateDir": str(lab.state_dir),
        "hosts": [
            {
                "host": host.key,
                "zone": host.zone,
                "role": host.role.value,
                "address": str(host.address),
                "namespace": host.namespace,
                "sshd": "running" if lab.sshd_running(host.key) else "stopped",
            }
            for host in lab.plan.hosts
        ],
        "routers": [
            {
                "zone": zone.name,
                "lan": str(zone.lan),
                "lanAddress": str(zone.router_lan_address),
                "wanAddress": str(zone.router_wan_address),
                "namespace": zone.router_namespace,
            }
            for zone in lab.plan.zones
        ],
    }


def _host_vars(lab: Lab, host: PlannedHost) -> dict[str, Any]:
    ssh_args = [
        f"-o ProxyCommand={shlex.quote(proxy_command(host))}",
        f"-o UserKnownHostsFile={lab.known_hosts}",
        "-o StrictHostKeyChecking=yes",
        "-o IdentitiesOnly=yes",
    ]
    return {
        "ansible_host": str(host.address),
        "ansible_ssh_common_args": " ".join(ssh_args),
        "zone": host.zone,
        "role": host.role.value,
        "address": str(host.address),
        # The host variables the collection's roles read, as its inventory plugins set them.
        "meshfabric_zone": host.zone,
        "meshfabric_role": DOCUMENT_ROLES[host.role],
        "meshfabric_private_ip": str(host.address),
    }


def inventory(lab: Lab) -> dict[str, Any]:
    """A YAML-ready inventory: one group per role and one per zone."""
    children: dict[str, dict[str, Any]] = {}
    for role in Role:
        members = [host for host in lab.plan.hosts if host.role is role]
        children[role_group(role)] = {
            "hosts": {host.inventory_name: _host_vars(lab, host) for host in members}
        }
    for zone in lab.plan.zones:
        children[zone_group(zone.name)] = {
            "hosts": {host.inventory_name: {} for host in zone.hosts}
        }
    return {
        "all": {
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(lab.client_key),
                "ansible_python_interpreter": PYTHON_INTERPRETER,
                # Per lab, so two labs whose hosts share addresses never share a connection.
                "ansible_control_path_dir": str(lab.ssh_control_dir),
            },
            "children": children,
        }
    }
