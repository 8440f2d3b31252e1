"""A mesh with a builtin mTLS backend gets its CA when it is created."""

from __future__ import annotations

from tests.integration.dataplane.support import ZoneControlPlane, mtls_mesh
from tests.support.net import wait_until


def test_the_builtin_ca_exists_as_soon_as_the_mesh_does(control_plane: ZoneControlPlane) -> None:
    control_plane.apply(mtls_mesh("kong-air"))
    with control_plane.client() as client:

        def secret_exists(name: str) -> bool:
            response = client.get(f"/meshes/kong-air/secrets/kong-air.ca-builtin-{name}-ca-1")
            return response.status_code == 200

        wait_until(lambda: secret_exists("cert") and secret_exists("key"), 10, "the CA secrets")
