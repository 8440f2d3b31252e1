#!/usr/bin/python
# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: resource_info
short_description: Read one mesh resource or a filtered list
description:
  - Reads a resource by name, or lists the resources of a type, optionally
    filtered by labels.
  - With O(wait=true) and O(name), waits until the resource exists, for
    example until a policy applied on the global control plane has reached a
    zone control plane.
version_added: 0.1.0
author: meshfabric maintainers (@meshfabric)
extends_documentation_fragment:
  - meshfabric.mesh.attributes
  - meshfabric.mesh.attributes.INFO_MODULE
  - meshfabric.mesh.auth
  - meshfabric.mesh.auth.WAIT
options:
  type:
    description: Resource type, as in C(GET /_resources).
    type: str
    required: true
  name:
    description: Name of the one resource to read.
    type: str
  mesh:
    description:
      - Mesh of mesh-scoped resources.
      - When listing without a mesh, every mesh is listed; reading by name
        without a mesh reads from C(default).
    type: str
  label_selectors:
    description: Only resources carrying all these labels.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Read one policy
  meshfabric.mesh.resource_info:
    type: MeshTrafficPermission
    name: allow-web
    mesh: default
  register: permission

- name: List the services of zone us-east-1
  meshfabric.mesh.resource_info:
    type: MeshService
    label_selectors:
      kuma.io/zone: us-east-1

- name: Wait on a zone control plane until a policy has synced from global
  meshfabric.mesh.resource_info:
    url: http://zone-cp.us-east-1.internal:5681
    type: MeshTimeout
    name: flight-control
    wait: true
    wait_timeout: 60
"""

RETURN = r"""
resources:
  description: The resources found, as the control plane stores them.
  returned: always
  type: list
  elements: dict
  sample: [{"type": "MeshService", "mesh": "default", "name": "web", "labels": {}, "spec": {}}]
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshfabric.mesh.plugins.module_utils.args_common import WAIT_ARG_SPEC
from ansible_collections.meshfabric.mesh.plugins.module_utils.runner import (
    build_module,
    run_module,
    should_wait,
    wait_for_resource,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.service import ResourceService


def argspec() -> dict[str, dict[str, Any]]:
    return {
        "type": {"type": "str", "required": True},
        "name": {"type": "str"},
        "mesh": {"type": "str"},
        "label_selectors": {"type": "dict", "default": {}},
        **WAIT_ARG_SPEC,
    }


def handle(module: AnsibleModule, service: ResourceService) -> dict[str, Any]:
    params = module.params
    if should_wait(module):
        ref = service.ref_for(params["type"], params["name"], params["mesh"])
        wait_for_resource(service, ref, present=True, timeout=params["wait_timeout"])
    resources = service.read(
        params["type"], params["name"], params["mesh"], params["label_selectors"]
    )
    return {"changed": False, "resources": resources}


def main() -> None:
    module = build_module(argspec(), required_if=[("wait", True, ["name"])])
    run_module(module, handle)


if __name__ == "__main__":
    main()
