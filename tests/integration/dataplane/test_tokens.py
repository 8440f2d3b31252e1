"""A proxy must present a dataplane token of its mesh for the services it serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.dataplane.support import (
    Sidecar,
    ZoneControlPlane,
    mtls_mesh,
    sidecar_dataplane,
)
from tests.support.net import free_port

pytestmark = pytest.mark.envoy


def run_with_token(cp: ZoneControlPlane, tmp_path: Path, token: str) -> tuple[int, str]:
    dataplane = sidecar_dataplane("web-1", free_port(), free_port(), "web", "http")
    return Sidecar(cp, tmp_path, dataplane, token).run_to_exit()


@pytest.mark.parametrize(
    ("token_for", "reason"),
    [
        (("default", "backend"), "issued for service backend, but the dataplane serves web"),
        (("other", "web"), 'issued for mesh "other"'),
        (None, "the token is not valid"),
    ],
)
def test_a_wrong_or_foreign_token_is_refused_with_the_reason(
    control_plane: ZoneControlPlane,
    mesh: str,
    tmp_path: Path,
    token_for: tuple[str, str] | None,
    reason: str,
) -> None:
    control_plane.apply(mtls_mesh("other"))
    valid = control_plane.dataplane_token("default", "web")  # the mesh has a signing key
    token = control_plane.dataplane_token(*token_for) if token_for else valid[::-1]
    code, log = run_with_token(control_plane, tmp_path, token)
    assert code == 2
    assert "refused to register dataplane web-1" in log
    assert reason in log
    with control_plane.client() as client:
        assert client.get("/meshes/default/dataplanes/web-1").status_code == 404
