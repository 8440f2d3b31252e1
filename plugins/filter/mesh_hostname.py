# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The mesh_hostname filter; documented in mesh_hostname.yml."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.meshfabric.mesh.plugins.module_utils.hostnames import mesh_hostname


def _mesh_hostname(service: str, zone: str | None = None, multizone: bool = False) -> str:
    try:
        return mesh_hostname(service, zone, multizone)
    except ValueError as err:
        raise AnsibleFilterError(f"mesh_hostname: {err}") from err


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mesh_hostname": _mesh_hostname}
