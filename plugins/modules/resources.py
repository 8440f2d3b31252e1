#!/usr/bin/python
# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: resources
short_description: Apply many mesh resources in one task, with prune
description:
  - Brings a whole set of resources, from a list or from YAML files, to the
    state given, in one task and a handful of requests; current state is read
    with one list request per type and mesh.
  - Resources are written in dependency order (a Mesh before what lives in
    it, services before policies) and deleted in the reverse order.
  - Every write is validated by the control plane (dry run) before anything is
    written; if one resource is rejected the task fails with each rejected
    field path and reason, and nothing is applied.
  - Every resource the task writes is labelled C(meshfabric.io/managed-by=<managed_by>).
    With O(prune=true), the resources carrying that label that are no longer in
    the configuration are deleted, the way C(terraform apply) removes what left
    the configuration. Resources without the label are never pruned.
version_added: 0.1.0
author: meshfabric maintainers (@meshfabric)
extends_documentation_fragment:
  - meshfabric.mesh.attributes
  - meshfabric.mesh.auth
attributes:
  check_mode:
    description:
      - Reports per resource what a real run would do, validated by a dry run.
      - Resources inside a mesh that does not exist yet (this task or an
        earlier one creates it) cannot be validated before that mesh exists;
        check mode reports them as created.
    support: full
  diff_mode:
    description: Shows every changed resource before and after.
    support: full
options:
  resources:
    description: >-
      Resources as the REST API shows them (C(type), C(name), C(mesh),
      C(labels), fields).
    type: list
    elements: dict
  src:
    description:
      - A YAML file (several documents allowed) or a directory of C(.yaml)/C(.yml)
        files, read recursively, on the host that runs the module.
      - Combined with O(resources) when both are given.
    type: path
  state:
    description: Whether the resources given must exist or be absent.
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - Delete the resources labelled as managed by O(managed_by) that are not
        among the resources given. Only with O(state=present).
      - Deleting a Mesh deletes everything in it, so a managed Mesh that still
        holds resources without the label fails the task instead of being pruned.
    type: bool
    default: false
  managed_by:
    description:
      - Value of the C(meshfabric.io/managed-by) label that marks the resources of
        this configuration. Give each independent configuration its own value.
    type: str
    default: ansible
"""

EXAMPLES = r"""
- name: Apply the Kong Air policies and remove the ones that were dropped
  meshfabric.mesh.resources:
    src: "{{ playbook_dir }}/files/kong-air"
    prune: true
    managed_by: kong-air

- name: Apply a list of resources
  meshfabric.mesh.resources:
    resources:
      - type: Mesh
        name: kong-air
      - type: MeshTimeout
        name: flight-control
        mesh: kong-air
        spec:
          targetRef: {kind: Mesh}
          to:
            - targetRef: {kind: MeshService, name: flight-control}
              default: {connectionTimeout: 2s}

- name: Delete them again
  meshfabric.mesh.resources:
    src: "{{ playbook_dir }}/files/kong-air"
    state: absent
"""

RETURN = r"""
results:
  description: One entry per resource, in the order they were applied.
  returned: always
  type: list
  elements: dict
  contains:
    type:
      description: Resource type.
      type: str
    mesh:
      description: Mesh, null for global types.
      type: str
    name:
      description: Resource name.
      type: str
    result:
      description: What happened (in check mode, would happen).
      type: str
      choices: [created, updated, deleted, unchanged]
    changed:
      description: Whether the resource changed.
      type: bool
summary:
  description: How many resources were created, updated, deleted and left unchanged.
  returned: always
  type: dict
  sample: {"created": 2, "updated": 0, "deleted": 1, "unchanged": 97}
errors:
  description: On failure, each rejected resource with the control plane's field paths and reasons.
  returned: failure
  type: list
  elements: dict
not_applied:
  description:
    - When a write fails after validation passed (a concurrent change, a lost
      connection), the resources from the failed one on, which were not applied.
  returned: failure
  type: list
  elements: dict
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshfabric.mesh.plugins.module_utils.args_common import (
    STATE_ARG_SPEC,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.definitions import (
    load_definitions,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.runner import (
    build_module,
    run_module,
    warn_of_caveats,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.service import (
    CREATE,
    DELETE,
    MANAGED_LABEL,
    NONE,
    UPDATE,
    ResourceService,
)


def argspec() -> dict[str, dict[str, Any]]:
    return {
        "resources": {"type": "list", "elements": "dict"},
        "src": {"type": "path"},
        "prune": {"type": "bool", "default": False},
        "managed_by": {"type": "str", "default": "ansible"},
        **STATE_ARG_SPEC,
    }


def given_resources(params: dict[str, Any]) -> list[dict[str, Any]]:
    resources = [dict(resource) for resource in params["resources"] or []]
    if params["src"]:
        resources += load_definitions(params["src"])
    return resources


def mark_managed(resource: dict[str, Any], owner: str) -> dict[str, Any]:
    return {**resource, "labels": {**(resource.get("labels") or {}), MANAGED_LABEL: owner}}


def handle(module: AnsibleModule, service: ResourceService) -> dict[str, Any]:
    params = module.params
    resources = given_resources(params)
    owner = params["managed_by"]
    if params["state"] == "present":
        present = [mark_managed(resource, owner) for resource in resources]
        changes = service.plan_batch(present, prune_owner=owner if params["prune"] else None)
    else:
        changes = service.plan_batch([], absent=resources)
    service.apply(changes, module.check_mode)
    warn_of_caveats(module, changes)
    summary = dict.fromkeys((CREATE, UPDATE, DELETE, NONE), 0)
    for change in changes:
        summary[change.action] += 1
    result: dict[str, Any] = {
        "changed": any(change.changed for change in changes),
        "results": [change.result() for change in changes],
        "summary": summary,
    }
    if module._diff:
        result["diff"] = [change.diff() for change in changes if change.changed]
    return result


def main() -> None:
    module = build_module(
        argspec(),
        required_one_of=[("resources", "src")],
    )
    if module.params["prune"] and module.params["state"] == "absent":
        module.fail_json(msg="prune applies to state=present only")
    run_module(module, handle)


if __name__ == "__main__":
    main()
