#!/usr/bin/python
# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zone_token
short_description: Issue or revoke the token a zone control plane uses to join global
description:
  - Issues a zone token on the global control plane (C(POST /tokens/zone)).
  - Revokes one by adding its JWT id to the GlobalSecret
    C(zone-token-revocations), the way Kuma does.
version_added: 0.1.0
author: meshfabric maintainers (@meshfabric)
extends_documentation_fragment:
  - meshfabric.mesh.auth
  - meshfabric.mesh.attributes
  - meshfabric.mesh.token
options:
  zone:
    description: The zone the token is for. Required to issue a token.
    type: str
  scope:
    description: What the token allows.
    type: list
    elements: str
    default: [cp]
"""

EXAMPLES = r"""
- name: Issue the token for the zone control plane of eu-west-1
  meshfabric.mesh.zone_token:
    url: http://global-cp.internal:5681
    token_file: /var/lib/meshfabric/admin-token
    zone: eu-west-1
    valid_for: 8760h
  register: eu_token
  no_log: true

- name: Revoke it
  meshfabric.mesh.zone_token:
    state: absent
    revoke_token: "{{ eu_token.token }}"
  no_log: true
"""

RETURN = r"""
token:
  description: The new token (null in check mode).
  returned: state=present
  type: str
token_id:
  description: The JWT id of the token issued or revoked.
  returned: always
  type: str
  sample: 0b9c6d2e-3f5e-4c1b-9c8e-6f2d3a1b7c4d
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshfabric.mesh.plugins.module_utils.args_common import (
    TOKEN_ARG_SPEC,
    TOKEN_MUTUALLY_EXCLUSIVE,
    TOKEN_REQUIRED_IF,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.runner import build_module, run_module
from ansible_collections.meshfabric.mesh.plugins.module_utils.service import ResourceService
from ansible_collections.meshfabric.mesh.plugins.module_utils.tokens import (
    ZONE_REVOCATIONS,
    handle_token,
)


def argspec() -> dict[str, dict[str, Any]]:
    return {
        "zone": {"type": "str"},
        "scope": {"type": "list", "elements": "str", "default": ["cp"]},
        **TOKEN_ARG_SPEC,
    }


def handle(module: AnsibleModule, service: ResourceService) -> dict[str, Any]:
    request = {"zone": module.params["zone"], "scope": module.params["scope"]}
    return handle_token(module, service, "zone", request, ZONE_REVOCATIONS)


def main() -> None:
    module = build_module(
        argspec(),
        mutually_exclusive=TOKEN_MUTUALLY_EXCLUSIVE,
        required_if=[*TOKEN_REQUIRED_IF, ("state", "present", ["zone"])],
    )
    run_module(module, handle)


if __name__ == "__main__":
    main()
