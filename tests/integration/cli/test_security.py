"""meshctl and secrets: what it prints of them, and revoking a token as docs/security.md says."""

from __future__ import annotations

import base64
import json

import httpx

from tests.integration.cli.conftest import Meshctl
from tests.support.control_plane import ControlPlane


def jti(token: str) -> str:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"])


def test_get_prints_no_signing_key(meshctl: Meshctl) -> None:
    printed = meshctl.ok("get", "global-secrets", "user-token-signing-key", "-o", "yaml")
    assert "name: user-token-signing-key" in printed and "data" not in printed


def test_a_user_token_revoked_as_documented_is_refused(
    meshctl: Meshctl, control_plane: ControlPlane
) -> None:
    token = meshctl.ok("generate", "user-token", "--name", "leaver", "--valid-for", "1h").strip()
    assert httpx.get(control_plane.url + "/meshes", headers=bearer(token)).status_code == 200
    listed = base64.b64encode(jti(token).encode()).decode()
    revocations = f"type: GlobalSecret\nname: user-token-revocations\ndata: {listed}\n"
    meshctl.ok("apply", "-f", "-", stdin=revocations)
    refused = httpx.get(control_plane.url + "/meshes", headers=bearer(token))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_https_with_the_ca_cert_file(bare_meshctl: Meshctl, control_plane: ControlPlane) -> None:
    add = ["config", "control-planes", "add", "--address", control_plane.https_url,
           "--auth-token-file", str(control_plane.data_dir / "admin-token")]  # fmt: skip
    untrusted = bare_meshctl.fails(*add, "--name", "untrusted")
    assert "certificate is not trusted" in untrusted and "--ca-cert-file" in untrusted
    ca = control_plane.data_dir / "api-ca.crt"
    bare_meshctl.ok(*add, "--name", "tls", "--ca-cert-file", str(ca))
    assert "user-token-signing-key" in bare_meshctl.ok("get", "global-secrets")
    assert f"caCertFile: {ca}" in bare_meshctl.ok("config", "view")
