#!/usr/bin/python
# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: multizone_service
short_description: Group a service's instances in every zone behind one name
description:
  - Manages a MeshMultiZoneService that selects the MeshServices of a service
    in all zones, reachable as C(<name>.mzsvc.mesh.local).
  - A shorthand for M(meshfabric.mesh.resource) with the selector and ports
    written out.
  - With O(wait=true), waits until the service has healthy instances in
    O(wait_condition.healthy_zones) zones.
version_added: 0.1.0
author: meshfabric maintainers (@meshfabric)
extends_documentation_fragment:
  - meshfabric.mesh.attributes
  - meshfabric.mesh.auth
  - meshfabric.mesh.auth.WAIT
attributes:
  check_mode:
    description: Validates with a dry run and writes nothing.
    support: full
  diff_mode:
    description: Shows the resource before and after.
    support: full
options:
  name:
    description: Name of the MeshMultiZoneService.
    type: str
    required: true
  mesh:
    description: Mesh.
    type: str
    default: default
  service:
    description:
      - Select the MeshServices whose C(kuma.io/display-name) is this, in every zone.
      - Defaults to O(name). Ignored when O(match_labels) is given.
    type: str
  match_labels:
    description: Select the MeshServices carrying these labels instead.
    type: dict
  ports:
    description: Ports of the service.
    type: list
    elements: dict
    default: []
    suboptions:
      port:
        description: Port number.
        type: int
        required: true
      app_protocol:
        description: Protocol, such as C(http), C(grpc) or C(tcp).
        type: str
        default: http
      name:
        description: Name of the port.
        type: str
  labels:
    description: Labels of the MeshMultiZoneService.
    type: dict
    default: {}
  state:
    description: Whether the MeshMultiZoneService must exist.
    type: str
    choices: [present, absent]
    default: present
  wait_condition:
    description: What O(wait=true) waits for.
    type: dict
    default: {}
    suboptions:
      healthy_zones:
        description: Number of zones that must have at least one healthy instance.
        type: int
        default: 1
"""

EXAMPLES = r"""
- name: Serve flight-control from both zones as flight-control.mzsvc.mesh.local
  meshfabric.mesh.multizone_service:
    name: flight-control
    ports:
      - port: 8080
    wait: true
    wait_condition:
      healthy_zones: 2
"""

RETURN = r"""
result:
  description: What happened (or, in check mode, would happen).
  returned: always
  type: str
  sample: created
resource:
  description: The MeshMultiZoneService as stored; null when absent.
  returned: always
  type: dict
hostname:
  description: The name clients use.
  returned: always
  type: str
  sample: flight-control.mzsvc.mesh.local
healthy_zones:
  description: Zones with healthy instances, when O(wait=true).
  returned: when waited
  type: list
  elements: str
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshfabric.mesh.plugins.module_utils.args_common import (
    STATE_ARG_SPEC,
    WAIT_ARG_SPEC,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import MeshError
from ansible_collections.meshfabric.mesh.plugins.module_utils.hostnames import mesh_hostname
from ansible_collections.meshfabric.mesh.plugins.module_utils.runner import (
    apply_resource,
    build_module,
    run_module,
    should_wait,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.service import (
    Ref,
    ResourceService,
    build_resource,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.waiter import (
    healthy_zones,
    wait_for,
)

TYPE = "MeshMultiZoneService"
DISPLAY_NAME_LABEL = "kuma.io/display-name"


def argspec() -> dict[str, dict[str, Any]]:
    return {
        "name": {"type": "str", "required": True},
        "mesh": {"type": "str", "default": "default"},
        "service": {"type": "str"},
        "match_labels": {"type": "dict"},
        "ports": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "port": {"type": "int", "required": True},
                "app_protocol": {"type": "str", "default": "http"},
                "name": {"type": "str"},
            },
        },
        "labels": {"type": "dict", "default": {}},
        "wait_condition": {
            "type": "dict",
            "default": {},
            "options": {"healthy_zones": {"type": "int", "default": 1}},
        },
        **STATE_ARG_SPEC,
        **WAIT_ARG_SPEC,
    }


def spec(params: dict[str, Any]) -> dict[str, Any]:
    service_name = params["service"] or params["name"]
    match_labels = params["match_labels"] or {DISPLAY_NAME_LABEL: service_name}
    ports = []
    for port in params["ports"]:
        entry = {"port": port["port"], "appProtocol": port["app_protocol"]}
        if port["name"]:
            entry["name"] = port["name"]
        ports.append(entry)
    return {"selector": {"meshService": {"matchLabels": match_labels}}, "ports": ports}


def wait_healthy(service: ResourceService, ref: Ref, wanted: int, timeout: int) -> list[str]:
    mesh_services = service.rtype("MeshService")

    def read_mesh_service(mesh: str, name: str) -> dict[str, Any] | None:
        fetched = service.client.get(mesh_services, name, mesh)
        return fetched[0] if fetched else None

    def check() -> list[str]:
        """The healthy zones once there are enough of them, else an empty list."""
        fetched = service.fetch(ref)
        zones = healthy_zones(fetched[0], read_mesh_service) if fetched else set()
        return sorted(zones) if len(zones) >= wanted else []

    return wait_for(check, timeout, f"{ref} to be healthy in {wanted} zones")


def handle(module: AnsibleModule, service: ResourceService) -> dict[str, Any]:
    params = module.params
    ref = Ref(TYPE, params["mesh"], params["name"])
    present = params["state"] == "present"
    desired = None
    if present:
        desired = service.normalize(
            build_resource(
                service.rtype(TYPE), params["name"], params["mesh"], params["labels"], spec(params)
            )
        )
    _change, result = apply_resource(module, service, ref, desired)
    result["hostname"] = mesh_hostname(params["name"], multizone=True)
    if present and should_wait(module):
        wanted = params["wait_condition"]["healthy_zones"]
        if wanted < 1:
            raise MeshError("wait_condition.healthy_zones must be at least 1")
        result["healthy_zones"] = wait_healthy(service, ref, wanted, params["wait_timeout"])
    return result


def main() -> None:
    run_module(build_module(argspec()), handle)


if __name__ == "__main__":
    main()
