#!/usr/bin/python
# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zone_info
short_description: List the zones of a multi-zone mesh and whether they are online
description:
  - Reads C(GET /zones/_overview) on the global control plane, which lists
    every zone with its insight (KDS subscriptions of its zone control plane).
  - A zone is online when the newest subscription of its zone control plane
    has not disconnected.
  - With O(wait=true) and O(name), waits until that zone is online.
version_added: 0.1.0
author: meshfabric maintainers (@meshfabric)
extends_documentation_fragment:
  - meshfabric.mesh.attributes
  - meshfabric.mesh.attributes.INFO_MODULE
  - meshfabric.mesh.auth
  - meshfabric.mesh.auth.WAIT
options:
  name:
    description: Only this zone.
    type: str
"""

EXAMPLES = r"""
- name: Wait until the zone control plane of eu-west-1 has connected to global
  meshfabric.mesh.zone_info:
    url: http://global-cp.internal:5681
    name: eu-west-1
    wait: true
    wait_timeout: 300

- name: List the zones
  meshfabric.mesh.zone_info:
  register: zones

- name: Report the zones that are offline
  ansible.builtin.debug:
    msg: "{{ zones.zones | rejectattr('online') | map(attribute='name') }}"
"""

RETURN = r"""
zones:
  description: The zones.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Zone name.
      type: str
    online:
      description: Whether the zone control plane is connected to global.
      type: bool
    zone:
      description: The Zone resource.
      type: dict
    insight:
      description: The zone insight (subscriptions with connect and disconnect times).
      type: dict
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshfabric.mesh.plugins.module_utils.args_common import WAIT_ARG_SPEC
from ansible_collections.meshfabric.mesh.plugins.module_utils.runner import (
    build_module,
    run_module,
    should_wait,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.service import ResourceService
from ansible_collections.meshfabric.mesh.plugins.module_utils.waiter import wait_for, zone_online


def argspec() -> dict[str, dict[str, Any]]:
    return {"name": {"type": "str"}, **WAIT_ARG_SPEC}


def zones(service: ResourceService, name: str | None) -> list[dict[str, Any]]:
    body = service.client.request("GET", "zones/_overview").json()
    # Kuma answers with a page ({items}); a plain list is accepted too.
    overviews = (body.get("items") or []) if isinstance(body, dict) else (body or [])
    return [
        {
            "name": overview["name"],
            "online": zone_online(overview),
            "zone": overview.get("zone") or {},
            "insight": overview.get("zoneInsight") or {},
        }
        for overview in overviews
        if name is None or overview["name"] == name
    ]


def handle(module: AnsibleModule, service: ResourceService) -> dict[str, Any]:
    name = module.params["name"]
    if should_wait(module):
        wait_for(
            lambda: any(zone["online"] for zone in zones(service, name)),
            module.params["wait_timeout"],
            f"zone {name} to be online",
        )
    return {"changed": False, "zones": zones(service, name)}


def main() -> None:
    module = build_module(argspec(), required_if=[("wait", True, ["name"])])
    run_module(module, handle)


if __name__ == "__main__":
    main()
