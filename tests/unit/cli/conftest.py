"""A catalogue like the one a control plane serves, for tests that need no server."""

from __future__ import annotations

import pytest

from meshfabric.cli.catalogue import Catalogue, ResourceTypeInfo

MESH = ResourceTypeInfo("Mesh", "meshes", mesh_scoped=False, is_policy=False)
ZONE = ResourceTypeInfo("Zone", "zones", mesh_scoped=False, is_policy=False)
MTP = ResourceTypeInfo(
    "MeshTrafficPermission", "meshtrafficpermissions", mesh_scoped=True, is_policy=True
)
MESH_SERVICE = ResourceTypeInfo("MeshService", "meshservices", mesh_scoped=True, is_policy=False)


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue([MESH, ZONE, MESH_SERVICE, MTP])
