"""The demo step: Kong Air's resources apply with meshfabric.mesh.resources, and a second
run changes nothing."""

from __future__ import annotations

import os
import subprocess

from tests.integration.ansible.conftest import BIN, REPO, request, token_file
from tests.support.control_plane import ControlPlane

KONG_AIR = REPO / "examples" / "kong-air"


def test_kong_air_applies_then_stays_unchanged(control_plane: ControlPlane) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    script = REPO / "scripts" / "demo-ansible.sh"
    done = subprocess.run(
        [str(script), control_plane.url, str(token_file(control_plane)), str(KONG_AIR)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Second run: nothing changed" in done.stdout
    status, services = request(control_plane, "GET", "/meshes/default/meshservices")
    assert status == 200
    assert {s["name"] for s in services["items"]} == {"flight-control", "booking"}
    assert all(s["labels"]["meshfabric.io/managed-by"] == "kong-air" for s in services["items"])
