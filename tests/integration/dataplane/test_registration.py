"""What a registering meshfabric-dp may and may not do to the Dataplanes of the mesh."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.dataplane.conftest import SidecarFactory
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


def registered_services(cp: ZoneControlPlane, name: str) -> list[str]:
    with cp.client() as client:
        response = client.get(f"/meshes/default/dataplanes/{name}")
    response.raise_for_status()
    return [i["tags"]["kuma.io/service"] for i in response.json()["networking"]["inbound"]]


def test_a_token_for_another_service_cannot_take_over_a_dataplane(
    control_plane: ZoneControlPlane, mesh: str, tmp_path: Path
) -> None:
    control_plane.apply(sidecar_dataplane("web-1", free_port(), free_port(), "web", "http"))
    takeover = sidecar_dataplane("web-1", free_port(), free_port(), "backend", "http")
    token = control_plane.dataplane_token(mesh, "backend")
    code, log = Sidecar(control_plane, tmp_path, takeover, token).run_to_exit()
    assert code == 2
    assert "it was issued for service backend, but the dataplane serves web" in log
    assert registered_services(control_plane, "web-1") == ["web"]


@pytest.mark.envoy
def test_a_second_dp_of_the_same_name_is_refused_and_leaves_the_first_alone(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory, tmp_path: Path
) -> None:
    dataplane = sidecar_dataplane("web-1", free_port(), free_port(), "web", "http")
    first = sidecar(dataplane).wait_ready()
    token = control_plane.dataplane_token(mesh, "web")
    code, log = Sidecar(control_plane, tmp_path / "second", dataplane, token).run_to_exit()
    assert code == 2
    assert 'dataplane "web-1" of mesh "default" is already running: its proxy at 127.0.0.1' in log
    assert registered_services(control_plane, "web-1") == ["web"]  # not deregistered
    assert first.connected()


def test_a_proxy_may_not_set_the_labels_the_control_plane_owns(
    control_plane: ZoneControlPlane, mesh: str, tmp_path: Path
) -> None:
    dataplane = sidecar_dataplane("web-1", free_port(), free_port(), "web", "http")
    dataplane["labels"] = {"team": "web", "kuma.io/origin": "global"}
    token = control_plane.dataplane_token(mesh, "web")
    code, log = Sidecar(control_plane, tmp_path, dataplane, token).run_to_exit()
    assert code == 2
    assert 'labels["kuma.io/origin"]: set by the control plane, not by a registering proxy' in log
    with control_plane.client() as client:
        assert client.get("/meshes/default/dataplanes/web-1").status_code == 404
