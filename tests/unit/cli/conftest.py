"""A catalogue like the one a control plane serves, for tests that need no server."""

from __future__ import annotations

import pytest

from meshfabric.cli.catalogue import Catalogue, ResourceTypeInfo

MESH = ResourceTypeInfo("Mesh", "meshes", mesh_scoped=False, is_policy=False, apply_order=10)
ZONE = ResourceTypeInfo("Zone", "zones", mesh_scoped=False, is_policy=False, apply_order=15)
MTP = ResourceTypeInfo(
    "MeshTrafficPermission",
    "meshtrafficpermissions",
    mesh_scoped=True,
    is_policy=True,
    apply_order=1000,
    short_name="mtp",
)
MESH_SERVICE = ResourceTypeInfo(
    "MeshService",
    "meshservices",
    mesh_scoped=True,
    is_policy=False,
    apply_order=50,
    short_name="msvc",
)


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue([MESH, ZONE, MESH_SERVICE, MTP])
