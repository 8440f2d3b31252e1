"""meshctl against a real control plane: a dataplane token, then inspecting its config."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from meshfabric.cli.main import app
from tests.integration.dataplane.conftest import SidecarFactory
from tests.integration.dataplane.support import ZoneControlPlane, permission, sidecar_dataplane
from tests.support.net import free_port

pytestmark = pytest.mark.envoy


def run(cp: ZoneControlPlane, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--api-url", cp.url, "--token", cp.token, *args])
    return result.exit_code, result.output


def meshctl(cp: ZoneControlPlane, *args: str) -> str:
    code, output = run(cp, *args)
    assert code == 0, output
    return output


def test_a_generated_token_runs_a_proxy_whose_config_can_be_inspected(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory
) -> None:
    control_plane.apply(permission(mesh, "web-to-backend", "backend", "web"))
    token = meshctl(
        control_plane,
        "generate",
        "dataplane-token",
        "--mesh",
        mesh,
        "--tag",
        "kuma.io/service=backend",
    ).strip()
    inbound = free_port()
    dataplane = sidecar_dataplane("backend-1", inbound, free_port(), "backend", "http")
    sidecar(dataplane, token).wait_ready()

    summary = meshctl(control_plane, "inspect", "dataplane", "backend-1", "--mesh", mesh)
    assert "connected" in summary
    assert "MeshTrafficPermission" in summary
    assert "web-to-backend" in summary
    assert f"inbound:127.0.0.1:{inbound}" in summary
    assert "identity_cert:secret:default" in summary

    dump = json.loads(meshctl(control_plane, "inspect", "dataplane", "backend-1", "--config-dump"))
    [identity] = [s for s in dump["sds"] if "tlsCertificate" in s]
    assert identity["tlsCertificate"]["privateKey"] == {"inlineString": "<redacted>"}


def test_errors_come_back_in_words(control_plane: ZoneControlPlane) -> None:
    result = CliRunner().invoke(
        app,
        [
            "--api-url",
            control_plane.url,
            "--token",
            control_plane.token,
            "inspect",
            "dataplane",
            "nope",
        ],
    )
    assert result.exit_code == 1
    assert "Dataplane default/nope not found" in result.output
