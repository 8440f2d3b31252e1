"""What the lab tells others about itself: the status listing and an Ansible inventory."""

from __future__ import annotations

import shlex
from typing import Any

from meshfabric.lab.lab import Lab
from meshfabric.lab.ssh import proxy_command
from meshfabric.lab.topology import PlannedHost, Role

# The groups the collection's roles target, one per role.
ROLE_GROUPS = {
    Role.GLOBAL_CONTROL_PLANE: "global_control_plane",
    Role.ZONE_CONTROL_PLANE: "zone_control_planes",
    Role.INGRESS: "zone_ingresses",
    Role.EGRESS: "zone_egresses",
    Role.APP: "app_hosts",
}
PYTHON_INTERPRETER = "/usr/bin/python3"


def zone_group(zone: str) -> str:
    """`zone_us_east_1`: Ansible group names take no '-'."""
    return "zone_" + zone.replace("-", "_")


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
    }


def inventory(lab: Lab) -> dict[str, Any]:
    """A YAML-ready inventory: one group per role and one per zone."""
    children: dict[str, dict[str, Any]] = {}
    for role, group in ROLE_GROUPS.items():
        members = [host for host in lab.plan.hosts if host.role is role]
        children[group] = {
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
