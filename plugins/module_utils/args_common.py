# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Argument specs shared by the modules; each mirrors a doc fragment."""

from __future__ import annotations

import copy
from typing import Any

from ansible.module_utils.basic import env_fallback

# doc fragment: meshfabric.mesh.auth
AUTH_ARG_SPEC: dict[str, dict[str, Any]] = {
    "url": {
        "type": "str",
        "default": "http://127.0.0.1:5681",
        "fallback": (env_fallback, ["MESHFABRIC_URL"]),
    },
    "token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["MESHFABRIC_TOKEN"])},
    "token_file": {"type": "path", "fallback": (env_fallback, ["MESHFABRIC_TOKEN_FILE"])},
    "validate_certs": {"type": "bool", "default": True},
    "timeout": {"type": "int", "default": 30},
}
AUTH_MUTUALLY_EXCLUSIVE = [("token", "token_file")]

# doc fragment: meshfabric.mesh.auth.WAIT
WAIT_ARG_SPEC: dict[str, dict[str, Any]] = {
    "wait": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 120},
}

STATE_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
}

# doc fragment: meshfabric.mesh.token
TOKEN_ARG_SPEC: dict[str, dict[str, Any]] = {
    **STATE_ARG_SPEC,
    "valid_for": {"type": "str"},
    "revoke_token": {"type": "str", "no_log": True},
    "token_id": {"type": "str"},
}
TOKEN_MUTUALLY_EXCLUSIVE = [("revoke_token", "token_id")]
TOKEN_REQUIRED_IF = [("state", "absent", ("revoke_token", "token_id"), True)]


def merge_specs(*specs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Return one argument spec made of independent copies of ``specs``.

    Copies keep a module from changing the shared dicts when it adjusts an
    option for itself.
    """
    merged: dict[str, dict[str, Any]] = {}
    for spec in specs:
        merged.update(copy.deepcopy(spec))
    return merged
