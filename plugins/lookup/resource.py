# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: resource
short_description: Read mesh resources from the control plane
description:
  - Returns the resources of a type, or the one named, as the control plane
    stores them, so templates and conditions can use them without a
    registered M(meshfabric.mesh.resource_info) task.
version_added: 0.1.0
author: meshfabric maintainers (@meshfabric)
extends_documentation_fragment:
  - meshfabric.mesh.auth.PLUGIN
options:
  _terms:
    description: The resource type, optionally followed by a resource name.
    required: true
    type: list
    elements: str
  mesh:
    description:
      - Mesh of mesh-scoped resources. When listing without a mesh, every mesh
        is listed; a name without a mesh is read from C(default).
    type: str
  labels:
    description: Only resources carrying all these labels.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Show the ports of the flight-control service
  ansible.builtin.debug:
    msg: "{{ lookup('meshfabric.mesh.resource', 'MeshService', 'flight-control').spec.ports }}"

- name: Names of all traffic permissions in the default mesh
  ansible.builtin.debug:
    msg: >-
      {{ query('meshfabric.mesh.resource', 'MeshTrafficPermission', mesh='default')
         | map(attribute='name') }}
"""

RETURN = r"""
_list:
  description: The resources found; empty when a named resource does not exist.
  type: list
  elements: dict
"""

from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.meshfabric.mesh.plugins.module_utils.client import (
    MeshClient,
    read_token,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import MeshError
from ansible_collections.meshfabric.mesh.plugins.module_utils.service import ResourceService


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: Any = None, **kwargs: Any) -> list[Any]:
        self.set_options(var_options=variables, direct=kwargs)
        if not 1 <= len(terms) <= 2:
            raise AnsibleLookupError("give a resource type, optionally followed by a name")
        try:
            return self._service().read(
                str(terms[0]),
                str(terms[1]) if len(terms) == 2 else None,
                self.get_option("mesh"),
                self.get_option("labels"),
            )
        except MeshError as err:
            raise AnsibleLookupError(err.msg) from err

    def _service(self) -> ResourceService:
        if self.get_option("token") and self.get_option("token_file"):
            raise AnsibleLookupError("token and token_file are mutually exclusive")
        token = read_token(self.get_option("token"), self.get_option("token_file"))
        client = MeshClient(
            self.get_option("url"),
            token,
            self.get_option("validate_certs"),
            self.get_option("timeout"),
        )
        return ResourceService(client)
