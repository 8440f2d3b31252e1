# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Polling until a condition holds, and the conditions users wait for."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import (
    MeshTimeoutError,
)

T = TypeVar("T")

POLL_INTERVAL = 0.5


def wait_for(check: Callable[[], T], timeout: float, what: str) -> T:
    """Call ``check`` until it returns a true value, and return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise MeshTimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL_INTERVAL)


def value_at(document: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``status.dataplaneProxies.healthy``), or None."""
    value: Any = document
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, Mapping):
            value = value.get(part)
        else:
            return None
    return value


def condition_holds(resource: Mapping[str, Any], condition: Mapping[str, Any]) -> bool:
    """``{path, equals}`` or ``{path, at_least}`` against a resource."""
    value = value_at(resource, condition["path"])
    if condition.get("at_least") is not None:
        return isinstance(value, (int, float)) and value >= condition["at_least"]
    return bool(value == condition.get("equals"))


def zone_online(overview: Mapping[str, Any]) -> bool:
    """A zone is online while its newest subscription has not disconnected."""
    subscriptions = (overview.get("zoneInsight") or {}).get("subscriptions") or []
    return bool(subscriptions) and not subscriptions[-1].get("disconnectTime")


def healthy_zones(
    multizone_service: Mapping[str, Any],
    mesh_service: Callable[[str, str], Mapping[str, Any] | None],
) -> set[str]:
    """Zones whose MeshService behind a MeshMultiZoneService has a healthy proxy.

    ``mesh_service(mesh, name)`` reads one MeshService as the control plane
    stores it (``status.meshServices`` names them that way).
    """
    refs: Iterable[Mapping[str, Any]] = value_at(multizone_service, "status.meshServices") or []
    zones = set()
    for ref in refs:
        service = mesh_service(ref.get("mesh") or multizone_service.get("mesh", ""), ref["name"])
        healthy = value_at(service or {}, "status.dataplaneProxies.healthy") or 0
        if healthy > 0:
            zones.add(ref.get("zone") or "")
    return zones
