"""What a registering meshfabric-dp may and may not do to the Dataplanes of the mesh."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.dataplane.support import Sidecar, ZoneControlPlane, sidecar_dataplane
from tests.support.net import free_port


@pytest.mark.parametrize("name", ["evil/../x", "web\n1", "Web-1"])
def test_a_dataplane_name_kuma_refuses_is_refused_at_registration(
    control_plane: ZoneControlPlane, mesh: str, tmp_path: Path, name: str
) -> None:
    dataplane = sidecar_dataplane(name, free_port(), free_port(), "web", "http")
    token = control_plane.dataplane_token(mesh, "web")
    code, log = Sidecar(control_plane, tmp_path, dataplane, token).run_to_exit()
    assert code == 2
    assert "invalid Dataplane: name: invalid characters" in log
    with control_plane.client() as client:
        assert client.get("/meshes/default/dataplanes").json()["total"] == 0
