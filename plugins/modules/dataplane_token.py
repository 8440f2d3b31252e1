#!/usr/bin/python
# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dataplane_token
short_description: Issue or revoke the token a data plane proxy uses to connect
description:
  - Issues a token for a sidecar, a ZoneIngress or a ZoneEgress
    (C(POST /tokens/dataplane)).
  - Revokes one by adding its JWT id to the Secret
    C(dataplane-token-revocations) of the mesh, the way Kuma does.
version_added: 0.1.0
author: meshfabric maintainers (@meshfabric)
extends_documentation_fragment:
  - meshfabric.mesh.auth
  - meshfabric.mesh.attributes
  - meshfabric.mesh.token
options:
  mesh:
    description: Mesh of the proxy, and of the revocation list.
    type: str
    default: default
  name:
    description: Bind the token to the Dataplane of this name.
    type: str
  tags:
    description: Bind the token to these tags (C(kuma.io/service) → list of values).
    type: dict
    default: {}
  proxy_type:
    description: Kind of proxy the token is for.
    type: str
    choices: [dataplane, ingress, egress]
    default: dataplane
"""

EXAMPLES = r"""
- name: Token for the flight-control sidecars
  meshfabric.mesh.dataplane_token:
    mesh: default
    tags:
      kuma.io/service: [flight-control]
    valid_for: 24h
  register: dp_token
  no_log: true

- name: Token for the zone ingress
  meshfabric.mesh.dataplane_token:
    proxy_type: ingress
    valid_for: 8760h
  register: ingress_token
  no_log: true

- name: Revoke a token by its id
  meshfabric.mesh.dataplane_token:
    state: absent
    token_id: 0b9c6d2e-3f5e-4c1b-9c8e-6f2d3a1b7c4d
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
    dataplane_revocations,
    handle_token,
)


def argspec() -> dict[str, dict[str, Any]]:
    return {
        "mesh": {"type": "str", "default": "default"},
        "name": {"type": "str"},
        "tags": {"type": "dict", "default": {}},
        "proxy_type": {
            "type": "str",
            "default": "dataplane",
            "choices": ["dataplane", "ingress", "egress"],
        },
        **TOKEN_ARG_SPEC,
    }


def token_request(params: dict[str, Any]) -> dict[str, Any]:
    tags = {
        key: [str(v) for v in value] if isinstance(value, list) else [str(value)]
        for key, value in params["tags"].items()
    }
    request: dict[str, Any] = {"mesh": params["mesh"], "tags": tags, "type": params["proxy_type"]}
    if params["name"]:
        request["name"] = params["name"]
    return request


def handle(module: AnsibleModule, service: ResourceService) -> dict[str, Any]:
    revocations = dataplane_revocations(module.params["mesh"])
    return handle_token(module, service, "dataplane", token_request(module.params), revocations)


def main() -> None:
    module = build_module(
        argspec(),
        mutually_exclusive=TOKEN_MUTUALLY_EXCLUSIVE,
        required_if=TOKEN_REQUIRED_IF,
    )
    run_module(module, handle)


if __name__ == "__main__":
    main()
