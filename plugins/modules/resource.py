#!/usr/bin/python
# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: resource
short_description: Create, update or delete one mesh resource
description:
  - Manages any resource type the control plane serves (C(GET /_resources)),
    such as Mesh, MeshService, MeshTrafficPermission or Secret.
  - Idempotent. The resource is written only when it differs from what the
    control plane stores, where fields the control plane fills in with
    defaults and its own C(kuma.io/) labels do not count as differences.
  - Runs on the controller and talks to the control plane's REST API.
version_added: 0.1.0
author: meshfabric maintainers (@meshfabric)
extends_documentation_fragment:
  - meshfabric.mesh.attributes
  - meshfabric.mesh.auth
  - meshfabric.mesh.auth.WAIT
attributes:
  check_mode:
    description:
      - Reads the current state and validates the resource with a dry run; writes nothing.
      - A resource in a mesh that does not exist yet (an earlier task would
        create it) cannot be validated and is reported as created.
    support: full
  diff_mode:
    description: Shows the resource before and after.
    support: full
options:
  type:
    description:
      - Resource type, as in C(GET /_resources) (C(MeshTrafficPermission)).
      - Required unless O(definition) or O(src) give it.
    type: str
  name:
    description: Resource name. Overrides the name in O(definition) or O(src).
    type: str
  mesh:
    description:
      - Mesh of a mesh-scoped resource; ignored for global types (Mesh, Zone, GlobalSecret).
      - Defaults to the one in O(definition) or O(src), else C(default).
    type: str
  labels:
    description: Labels. Override the labels in O(definition) or O(src).
    type: dict
  spec:
    description:
      - The resource's fields. For the newer types they go under C(spec); for
        Mesh, Dataplane, ZoneIngress, ZoneEgress, Zone and secrets they are the
        top-level fields (C(data) of a Secret, C(mtls) of a Mesh).
    type: dict
  definition:
    description: The whole resource as the REST API shows it.
    type: dict
  src:
    description: Path of a YAML file holding the whole resource, on the host that runs the module.
    type: path
  state:
    description: Whether the resource must exist.
    type: str
    choices: [present, absent]
    default: present
  wait_condition:
    description:
      - With O(wait=true) and O(state=present), wait until this holds as well
        as until the resource can be read.
    type: dict
    suboptions:
      path:
        description: Dotted path into the resource, such as C(status.dataplaneProxies.healthy).
        type: str
        required: true
      equals:
        description: The value must equal this.
        type: raw
      at_least:
        description: The value must be a number at least this large.
        type: float
notes:
  - A resource rejected by the control plane fails the task with the field path and reason.
"""

EXAMPLES = r"""
- name: Allow the web service to call flight-control
  meshfabric.mesh.resource:
    type: MeshTrafficPermission
    name: flight-control-from-web
    mesh: default
    spec:
      targetRef:
        kind: MeshService
        name: flight-control
      from:
        - targetRef: {kind: MeshSubset, tags: {kuma.io/service: web}}
          default: {action: Allow}

- name: Enable mTLS on the default mesh (top-level fields)
  meshfabric.mesh.resource:
    type: Mesh
    name: default
    spec:
      mtls:
        enabledBackend: ca-1
        backends: [{name: ca-1, type: builtin}]

- name: Apply a file and wait until the service has healthy proxies
  meshfabric.mesh.resource:
    src: "{{ playbook_dir }}/files/flight-control-service.yaml"
    wait: true
    wait_condition:
      path: status.dataplaneProxies.healthy
      at_least: 1

- name: Remove a timeout policy
  meshfabric.mesh.resource:
    type: MeshTimeout
    name: slow-backends
    state: absent
"""

RETURN = r"""
result:
  description: What happened (or, in check mode, would happen).
  returned: always
  type: str
  sample: created
  choices: [created, updated, deleted, unchanged]
resource:
  description: The resource as the control plane stores it afterwards; null when absent.
  returned: always
  type: dict
  sample: {"type": "MeshTimeout", "mesh": "default", "name": "t1", "labels": {}, "spec": {}}
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshfabric.mesh.plugins.module_utils.args_common import (
    STATE_ARG_SPEC,
    WAIT_ARG_SPEC,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.definitions import (
    load_definitions,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import MeshError
from ansible_collections.meshfabric.mesh.plugins.module_utils.runner import (
    apply_resource,
    build_module,
    run_module,
    should_wait,
    wait_for_resource,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.service import (
    ResourceService,
    build_resource,
)


def argspec() -> dict[str, dict[str, Any]]:
    return {
        "type": {"type": "str"},
        "name": {"type": "str"},
        "mesh": {"type": "str"},
        "labels": {"type": "dict"},
        "spec": {"type": "dict"},
        "definition": {"type": "dict"},
        "src": {"type": "path"},
        "wait_condition": {
            "type": "dict",
            "options": {
                "path": {"type": "str", "required": True},
                "equals": {"type": "raw"},
                "at_least": {"type": "float"},
            },
        },
        **STATE_ARG_SPEC,
        **WAIT_ARG_SPEC,
    }


def desired_resource(service: ResourceService, params: dict[str, Any]) -> dict[str, Any]:
    """The resource from the options: a whole definition with name/mesh/labels overrides."""
    if params["src"]:
        documents = load_definitions(params["src"])
        if len(documents) != 1:
            raise MeshError(f"src must hold exactly one resource, it holds {len(documents)}")
        resource = documents[0]
    elif params["definition"]:
        resource = dict(params["definition"])
    else:
        rtype = service.rtype(params["type"])
        resource = build_resource(rtype, params["name"], spec=params["spec"])
    for key in ("type", "name", "mesh", "labels"):
        if params[key] is not None:
            resource[key] = params[key]
    return resource


def handle(module: AnsibleModule, service: ResourceService) -> dict[str, Any]:
    params = module.params
    desired = service.normalize(desired_resource(service, params))
    ref = service.ref(desired)
    present = params["state"] == "present"
    _change, result = apply_resource(module, service, ref, desired if present else None)
    if should_wait(module):
        result["resource"] = wait_for_resource(
            service, ref, present, params["wait_timeout"], params["wait_condition"]
        )
    return result


def main() -> None:
    module = build_module(
        argspec(),
        required_one_of=[("type", "definition", "src")],
        mutually_exclusive=[("definition", "src"), ("spec", "definition"), ("spec", "src")],
        required_by={"spec": "type"},
    )
    run_module(module, handle)


if __name__ == "__main__":
    main()
