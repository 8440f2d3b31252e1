# Copyright: meshfabric maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

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
