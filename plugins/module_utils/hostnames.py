# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The DNS names under which the mesh serves services."""

from __future__ import annotations

DOMAIN = "mesh.local"


def mesh_hostname(service: str, zone: str | None = None, multizone: bool = False) -> str:
    """``<name>.svc.mesh.local`` for a local MeshService, ``<name>.svc.<zone>.mesh.local``
    for one synced from another zone, ``<name>.mzsvc.mesh.local`` for a
    MeshMultiZoneService."""
    if not service:
        raise ValueError("a service name is required")
    if multizone:
        if zone:
            raise ValueError("a MeshMultiZoneService spans zones: give no zone")
        return f"{service}.mzsvc.{DOMAIN}"
    if zone:
        return f"{service}.svc.{zone}.{DOMAIN}"
    return f"{service}.svc.{DOMAIN}"
