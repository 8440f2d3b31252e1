# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pulumi
short_description: Mesh hosts from the inventory output of a Pulumi stack or Terraform state
version_added: 0.1.0
description:
  - Reads the C(inventory) output of the C(pulumi/aws) program (or a Terraform output of the
    same shape) from a file and builds the groups and host variables described in
    C(docs/inventory.md).
  - Groups are C(global_control_plane), C(zone_control_plane), C(zone_ingress), C(zone_egress),
    C(dataplanes) and one C(zone_<name>) group per zone (C(zone_global) for the global
    control plane).
  - "Accepted files: the output of C(pulumi stack output --json), of C(pulumi stack output
    inventory --json), of C(pulumi stack export), a local-backend state file
    (C(~/.pulumi/stacks/<project>/<stack>.json)), and a Terraform state (format version 4)."
  - The inventory file must be named C(pulumi.yml) or C(pulumi.yaml), or end with one of those.
options:
  plugin:
    description: Marks this file as a source for this plugin.
    required: true
    type: str
    choices: [meshfabric.mesh.pulumi]
  path:
    description:
      - The file holding the stack output, stack export, state file or Terraform state.
      - A relative path is relative to the directory of the inventory file, not to the
        current directory; C(~) is expanded.
    required: true
    type: str
  output_name:
    description: The name of the output that holds the inventory.
    type: str
    default: inventory
"""

EXAMPLES = r"""
# inventory/mesh.pulumi.yml, after
#   pulumi -C pulumi/aws stack output --json > inventory/stack-output.json
plugin: meshfabric.mesh.pulumi
path: stack-output.json

# Straight from the Pulumi local backend's state file
plugin: meshfabric.mesh.pulumi
path: ~/.pulumi/stacks/meshfabric-aws/prod.json

# From a Terraform state whose outputs hold the same inventory object
plugin: meshfabric.mesh.pulumi
path: ../terraform/terraform.tfstate
output_name: mesh_inventory
"""

import json
import os
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

from ansible_collections.meshfabric.mesh.plugins.module_utils.inventory import (
    InventoryDataError,
    populate_inventory,
)

STACK_TYPE = "pulumi:pulumi:Stack"


def _stack_outputs(resources: object) -> dict[str, Any]:
    if isinstance(resources, list):
        for resource in resources:
            if isinstance(resource, dict) and resource.get("type") == STACK_TYPE:
                return resource.get("outputs") or {}
    return {}


def _outputs(document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Which kind of file this is, and its outputs by name."""
    if "terraform_version" in document:
        outputs = document.get("outputs") or {}
        return "Terraform state", {name: entry.get("value") for name, entry in outputs.items()}
    if "deployment" in document:
        return "stack export", _stack_outputs((document["deployment"] or {}).get("resources"))
    if "checkpoint" in document:
        latest = (document["checkpoint"] or {}).get("latest") or {}
        return "Pulumi state file", _stack_outputs(latest.get("resources"))
    if "hosts" in document and "version" in document:
        return "inventory output", {"": document}
    return "stack output", document


def extract_inventory(document: object, output_name: str) -> dict[str, Any]:
    """The inventory object inside any of the accepted file shapes."""
    if not isinstance(document, dict):
        raise InventoryDataError("the file must hold a JSON object")
    kind, outputs = _outputs(document)
    value = outputs.get("" if kind == "inventory output" else output_name)
    if value == "[secret]":
        raise InventoryDataError(
            f"output {output_name} is a secret; use `pulumi stack output --json --show-secrets`"
        )
    if not isinstance(value, dict):
        raise InventoryDataError(
            f"this {kind} has no object output named {output_name} "
            f"(outputs: {', '.join(sorted(outputs)) or 'none'})"
        )
    return value


class InventoryModule(BaseInventoryPlugin):
    """Hosts and groups from a meshfabric inventory output stored in a file."""

    NAME = "meshfabric.mesh.pulumi"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("pulumi.yml", "pulumi.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        # os.path.join keeps an absolute (or ~-expanded) path as it is.
        source = os.path.join(os.path.dirname(path), os.path.expanduser(self.get_option("path")))
        try:
            with open(source, encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError) as error:
            raise AnsibleParserError(f"cannot read {source}: {error}") from error
        try:
            populate_inventory(
                self.inventory, extract_inventory(document, self.get_option("output_name"))
            )
        except InventoryDataError as error:
            raise AnsibleParserError(f"{source}: {error}") from error
