"""The demo step: the Kong Air policies apply, and a second run changes nothing."""

from __future__ import annotations

import os
import subprocess

from tests.integration.ansible.conftest import BIN, REPO, request, token_file
from tests.support.control_plane import ControlPlane


def test_kong_air_policies_apply_then_stay_unchanged(control_plane: ControlPlane) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    script = REPO / "scripts" / "demo-ansible.sh"
    done = subprocess.run(
        [str(script), control_plane.url, str(token_file(control_plane))],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Second run: nothing changed" in done.stdout
    status, permissions = request(control_plane, "GET", "/meshes/default/meshtrafficpermissions")
    assert status == 200
    assert {p["name"] for p in permissions["items"]} == {
        "flight-control-callers",
        "booking-from-gateway",
        "deny-by-default",
    }
    assert all(p["labels"]["meshfabric.io/managed-by"] == "kong-air" for p in permissions["items"])
