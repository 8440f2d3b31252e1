"""playbooks/site.yml deploys a mesh onto lab hosts over SSH with the collection's roles, as
onto real machines: global, a zone that joins it with a zone token issued at global, the
mesh, and a sidecar (its Envoy and meshfabric-dp from the wheelhouse) with a token issued by
the zone; on global's host, the mesh's Prometheus, its dashboards and the access-log sink.
A second run changes nothing; a wrong variable stops the run in preflight, naming
the variable, before anything is made on the host.

The lab and its inventory come from the session's `deployment` (conftest.py), which
test_upgrade_lab.py goes on with.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from tests.integration.lab.support import needs_namespaces
from tests.support.ansible_lab import INBOUND, Deployment, Run, zone_online
from tests.support.net import wait_until

# The first run installs four hosts from the wheelhouse: minutes on a busy machine.
pytestmark = [pytest.mark.lab, needs_namespaces, pytest.mark.slow, pytest.mark.timeout(900)]

GLOBAL, ZONE = "control-plane.global", "control-plane.us-east-1"
SIDECAR, INGRESS = "flight-control-1.us-east-1", "ingress.us-east-1"
DEPLOYED = f"{GLOBAL},{ZONE},{INGRESS},{SIDECAR}"
UNDEPLOYED_ZONE, UNDEPLOYED_SIDECAR = "control-plane.eu-west-1", "flight-control-1.eu-west-1"


@pytest.fixture(scope="module")
def first_run(deployment: Deployment) -> Run:
    return deployment.site("--limit", DEPLOYED)


def test_site_deploys_global_and_a_zone_that_joins_it(
    deployment: Deployment, first_run: Run
) -> None:
    assert first_run.returncode == 0, first_run.output

    assert deployment.api(ZONE, "/ready") is not None
    wait_until(lambda: zone_online(deployment, "us-east-1"), 60, "us-east-1 online at global")
    config = yaml.safe_load(
        (deployment.hosts_dir / ZONE / "etc/control-plane/control-plane.yaml").read_text()
    )
    assert config["zone"]["name"] == "us-east-1"
    assert config["zone"]["global_address"] == "grpcs://10.10.0.10:5685"


def test_admin_tokens_reach_the_controller_unseen(deployment: Deployment, first_run: Run) -> None:
    credentials = deployment.work / "playbooks" / "credentials"
    token = (credentials / ZONE / "admin-token").read_text().strip()

    assert (credentials / ZONE / "admin-token").stat().st_mode & 0o077 == 0
    assert (credentials / GLOBAL / "kds-ca.crt").read_text().startswith("-----BEGIN CERTIFICATE")
    assert token not in first_run.output
    assert deployment.api(ZONE, "/meshes")["total"] >= 0


def test_a_second_run_changes_nothing(deployment: Deployment, first_run: Run) -> None:
    assert first_run.returncode == 0, first_run.output

    second = deployment.site("--limit", DEPLOYED)

    assert second.returncode == 0, second.output
    assert second.changed() == {GLOBAL: 0, ZONE: 0, INGRESS: 0, SIDECAR: 0}


def test_check_mode_reports_a_change_and_makes_none(deployment: Deployment, first_run: Run) -> None:
    assert first_run.returncode == 0, first_run.output
    config = deployment.hosts_dir / ZONE / "etc/control-plane/control-plane.yaml"
    before = config.read_text()

    unchanged = deployment.site("--limit", DEPLOYED, "--check")
    changing = deployment.site(
        "--limit", ZONE, "--check", "--diff", "--extra-vars", "control_plane_log_level=DEBUG"
    )

    assert unchanged.returncode == 0, unchanged.output
    assert unchanged.changed() == {GLOBAL: 0, ZONE: 0, INGRESS: 0, SIDECAR: 0}
    assert changing.returncode == 0, changing.output
    assert changing.changed() == {ZONE: 1}
    assert config.read_text() == before


def test_the_sidecar_registers_with_its_zone_and_its_envoy_is_live(
    deployment: Deployment, first_run: Run
) -> None:
    assert first_run.returncode == 0, first_run.output
    sidecar = deployment.lab.host(deployment.lab_key(SIDECAR))

    dataplane = deployment.api(ZONE, f"/meshes/default/dataplanes/{SIDECAR}")
    ready = sidecar.run(["curl", "-s", "http://127.0.0.1:9901/ready"],
                        capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    envoy = deployment.hosts_dir / SIDECAR / "opt/dataplane/bin/envoy"
    version = subprocess.run([str(envoy), "--version"], capture_output=True, text=True, check=True)

    assert dataplane["networking"]["inbound"][0]["tags"]["kuma.io/service"] == "flight-control"
    assert ready.stdout.strip() == "LIVE"
    assert "/1.40.0/" in version.stdout


def test_the_ingress_registers_with_its_zone_and_its_envoy_is_live(
    deployment: Deployment, first_run: Run
) -> None:
    assert first_run.returncode == 0, first_run.output
    ingress = deployment.lab.host(deployment.lab_key(INGRESS))

    registered = deployment.api(ZONE, f"/zoneingresses/{INGRESS}")
    ready = ingress.run(["curl", "-s", "http://127.0.0.1:9901/ready"],
                        capture_output=True, text=True, timeout=30, check=False)  # fmt: skip

    assert registered["networking"]["advertisedAddress"] == "10.10.1.11"
    assert registered["networking"]["advertisedPort"] == 10001
    assert ready.stdout.strip() == "LIVE"


def test_the_telemetry_hosts_prometheus_scrapes_the_zones_proxy_and_every_control_plane(
    deployment: Deployment, first_run: Run
) -> None:
    assert first_run.returncode == 0, first_run.output
    token = deployment.work / "playbooks" / "credentials" / GLOBAL / "admin-token"
    metrics = {"type": "MeshMetric", "mesh": "default", "name": "prometheus",
               "spec": {"targetRef": {"kind": "Mesh"},
                        "default": {"backends": [{"type": "Prometheus",
                                                      "prometheus": {"port": 5670}}]}}}  # fmt: skip
    put = ["curl", "-sf", "-X", "PUT", "-H", f"Authorization: Bearer {token.read_text().strip()}",
           "-H", "content-type: application/json", "--data-binary", json.dumps(metrics),
           "http://127.0.0.1:5681/meshes/default/meshmetrics/prometheus"]  # fmt: skip
    deployment.lab.host(deployment.lab_key(GLOBAL)).run(put, timeout=30, check=True)

    def scraped(expression: str) -> list[tuple[str, str]]:
        samples = prometheus(deployment, "api/v1/query", expression)["data"]["result"]
        return sorted((s["metric"].get("zone", ""), s["metric"]["instance"]) for s in samples)

    proxy = 'envoy_server_live{job="meshfabric-proxies", service="flight-control"} == 1'
    wait_until(lambda: scraped(proxy) == [("us-east-1", "10.10.1.13:5670")], 60, "the proxy")
    control_planes = 'meshfabric_leader{job="meshfabric-control-planes"}'
    wait_until(lambda: len(scraped(control_planes)) == 2, 60, "both control planes scraped")
    assert scraped(control_planes) == [
        ("global", "127.0.0.1:5680"),
        ("us-east-1", "10.10.1.10:5680"),
    ]
    page = prometheus(deployment, "consoles/meshfabric.html")
    assert "meshfabric / Control plane" in page and '<td class="value">' in page
    dashboards = deployment.hosts_dir / GLOBAL / "var/lib/grafana/dashboards"
    assert sorted(path.name for path in dashboards.iterdir()) == [
        "meshfabric-control-plane.json", "meshfabric-mesh.json",
        "meshfabric-service.json", "meshfabric-zone.json",
    ]  # fmt: skip


def test_the_telemetry_hosts_log_sink_writes_each_line_it_receives(
    deployment: Deployment, first_run: Run
) -> None:
    assert first_run.returncode == 0, first_run.output
    line = "zone=us-east-1 direction=outbound web->flight-control path=/ status=200"
    send = ["nc", "-q", "1", "10.10.0.10", "514"]
    deployment.lab.host(deployment.lab_key(GLOBAL)).run(
        send, input=f"{line}\n", text=True, timeout=30, check=True
    )
    received = deployment.hosts_dir / GLOBAL / "var/log/meshfabric/access.log"

    wait_until(lambda: received.exists() and line in received.read_text(), 30, "the line")


def prometheus(deployment: Deployment, path: str, query: str | None = None) -> Any:
    """Prometheus on global's host, asked from inside it: JSON, or the page's text."""
    command = ["curl", "-sf", "-G", f"http://127.0.0.1:9090/{path}"]
    if query is not None:
        command += ["--data-urlencode", f"query={query}"]
    done = deployment.lab.host(deployment.lab_key(GLOBAL)).run(
        command, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if query is not None else done.stdout


@pytest.mark.parametrize(
    ("host", "extra_vars", "named"),
    [
        (UNDEPLOYED_ZONE, {"control_plane_mode": "edge"}, "control_plane_mode"),
        (UNDEPLOYED_ZONE, {"control_plane_zone_name": ""}, "control_plane_zone_name"),
        (UNDEPLOYED_ZONE, {"control_plane_xds_port": 70000}, "control_plane_xds_port"),
        (
            UNDEPLOYED_ZONE,
            {
                "control_plane_global_host": "nowhere",
                "control_plane_global_address": "grpcs://10.10.0.10:5685",
            },
            "control_plane_zone_token",
        ),
        (
            UNDEPLOYED_SIDECAR,
            {"dataplane_inbounds": [{**INBOUND, "port": 70000}]},
            "dataplane_inbounds[0].port",
        ),
    ],
    ids=[
        "unknown-mode",
        "no-zone-name",
        "port-out-of-range",
        "zone-without-token",
        "inbound-port-out-of-range",
    ],
)
def test_a_wrong_variable_fails_in_preflight_before_anything_changes(
    deployment: Deployment, host: str, extra_vars: dict[str, Any], named: str
) -> None:
    run = deployment.site("--limit", host, "--extra-vars", json.dumps(extra_vars))

    assert run.returncode != 0
    assert any(named in message for message in run.failures()), run.failures()
    assert run.changed() == {host: 0}
    assert not (deployment.hosts_dir / host).exists()
