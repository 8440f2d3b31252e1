"""playbooks/site.yml deploys a mesh onto lab hosts over SSH with the collection's roles, as
onto real machines: global, a zone that joins it with a zone token issued at global, the
mesh, and a sidecar (its Envoy and meshfabric-dp from the wheelhouse) with a token issued by
the zone; on global's host, the mesh's Prometheus, its dashboards and the access-log sink.
A second run changes nothing; a wrong variable stops the run in preflight, naming
the variable, before anything is made on the host.

The lab's hosts share the machine's file system, so each host gets its own directories (as
separate machines would have) through group_vars next to the inventory.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfabric.lab import Lab
from tests.integration.ansible.conftest import BIN, REPO
from tests.integration.lab.support import lab_cli, needs_namespaces, state_dir
from tests.support.net import wait_until

# The first run installs four hosts from the wheelhouse: minutes on a busy machine.
pytestmark = [pytest.mark.lab, needs_namespaces, pytest.mark.slow, pytest.mark.timeout(900)]

GLOBAL, ZONE = "control-plane.global", "control-plane.us-east-1"
SIDECAR, INGRESS = "flight-control-1.us-east-1", "ingress.us-east-1"
DEPLOYED = f"{GLOBAL},{ZONE},{INGRESS},{SIDECAR}"
UNDEPLOYED_ZONE, UNDEPLOYED_SIDECAR = "control-plane.eu-west-1", "flight-control-1.eu-west-1"
INBOUND = {"port": 20001, "servicePort": 8080, "tags": {"kuma.io/service": "flight-control"}}

# Where each lab host keeps what a real host would keep in /opt, /etc and /var/lib.
GROUP_VARS = {
    "meshfabric_zone": "{{ zone }}",
    "lab_host_root": "{{ lab_hosts_dir }}/{{ inventory_hostname }}",
    "control_plane_venv_dir": "{{ lab_host_root }}/opt/control-plane",
    "control_plane_config_dir": "{{ lab_host_root }}/etc/control-plane",
    "control_plane_data_dir": "{{ lab_host_root }}/var/lib/control-plane",
    "control_plane_supervisor_dir": "{{ lab_host_root }}/etc/supervisor",
    "control_plane_system_user": "root",
    "control_plane_system_group": "root",
    "dataplane_venv_dir": "{{ lab_host_root }}/opt/dataplane",
    "dataplane_config_dir": "{{ lab_host_root }}/etc/dataplane",
    "dataplane_work_dir": "{{ lab_host_root }}/var/lib/dataplane",
    "dataplane_supervisor_dir": "{{ lab_host_root }}/etc/supervisor",
    "dataplane_system_user": "root",
    "dataplane_system_group": "root",
    "dataplane_inbounds": [INBOUND],
    "zone_ingress_venv_dir": "{{ lab_host_root }}/opt/zone-ingress",
    "zone_ingress_config_dir": "{{ lab_host_root }}/etc/zone-ingress",
    "zone_ingress_work_dir": "{{ lab_host_root }}/var/lib/zone-ingress",
    "zone_ingress_supervisor_dir": "{{ lab_host_root }}/etc/supervisor",
    "zone_ingress_system_user": "root",
    "zone_ingress_system_group": "root",
    # The zone control planes' metrics, for the telemetry role's Prometheus on global's host.
    "control_plane_diagnostics_address": "0.0.0.0",
    "telemetry_config_dir": "{{ lab_host_root }}/etc/telemetry",
    "telemetry_data_dir": "{{ lab_host_root }}/var/lib/telemetry",
    "telemetry_dashboards_dir": "{{ lab_host_root }}/var/lib/grafana/dashboards",
    "telemetry_log_file": "{{ lab_host_root }}/var/log/meshfabric/access.log",
    "telemetry_supervisor_dir": "{{ lab_host_root }}/etc/supervisor",
    "telemetry_system_user": "root",
    "telemetry_scrape_interval": "1s",
    "telemetry_discovery_refresh_interval": "1s",
}


@dataclass
class Run:
    returncode: int
    report: dict[str, Any]
    output: str

    def changed(self) -> dict[str, int]:
        return {host: stats["changed"] for host, stats in self.report["stats"].items()}

    def failures(self) -> list[str]:
        """The message of every failed task result, and of each failed item of a loop."""
        failed = [
            result
            for play in self.report["plays"]
            for task in play["tasks"]
            for result in task["hosts"].values()
            if result.get("failed")
        ]
        items = [item for result in failed for item in result.get("results", [])]
        return [str(result.get("msg", "")) for result in failed + items if result.get("failed")]


@dataclass
class Deployment:
    lab: Lab
    work: Path
    hosts_dir: Path
    env: dict[str, str]

    def site(self, *args: str) -> Run:
        command = [str(BIN / "ansible-playbook"), "-i", str(self.work / "inventory"),
                   str(self.work / "playbooks" / "site.yml"), *args]  # fmt: skip
        done = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=900, check=False
        )
        report = json.loads(done.stdout) if done.stdout.lstrip().startswith("{") else {}
        return Run(done.returncode, report, done.stdout + done.stderr)

    def api(self, host: str, path: str, token_of: str | None = None) -> Any:
        """GET path from the control plane on `host`, asked from inside that host."""
        token = self.work / "playbooks" / "credentials" / (token_of or host) / "admin-token"
        done = self.lab.host(self.lab_key(host)).run(
            ["curl", "-sf", "-H", f"Authorization: Bearer {token.read_text().strip()}",
             f"http://127.0.0.1:5681{path}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    @staticmethod
    def lab_key(inventory_name: str) -> str:
        name, zone = inventory_name.split(".", 1)
        return f"{zone}/{name}"


@pytest.fixture(scope="module")
def deployment(
    collections_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    work = tmp_path_factory.mktemp("site")
    (work / "playbooks").mkdir()
    # site.yml is run from a copy beside the inventory, as a user runs the collection's
    # playbooks; credentials/ and wheelhouse/ land next to it.
    (work / "playbooks" / "site.yml").write_text((REPO / "playbooks" / "site.yml").read_text())
    hosts_dir = work / "hosts"
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
        "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_PIPELINING": "1",
        "ANSIBLE_NOCOLOR": "1",
    }
    with state_dir() as state:
        lab_cli("up", "--topology", "kong-air", "--state-dir", str(state))
        try:
            inventory = work / "inventory"
            (inventory / "group_vars").mkdir(parents=True)
            (inventory / "lab.yml").write_text(
                lab_cli("inventory", "--state-dir", str(state)).stdout
            )
            group_vars = {
                **GROUP_VARS,
                "lab_hosts_dir": str(hosts_dir),
                "control_plane_source_dir": str(REPO),
                "control_plane_wheelhouse_dir": str(work / "wheelhouse"),
                "dataplane_wheelhouse_dir": str(work / "wheelhouse"),
                "zone_ingress_wheelhouse_dir": str(work / "wheelhouse"),
            }
            (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars))
            yield Deployment(Lab.open(state), work, hosts_dir, env)
        finally:
            lab_cli("down", "--state-dir", str(state))


@pytest.fixture(scope="module")
def first_run(deployment: Deployment) -> Run:
    return deployment.site("--limit", DEPLOYED)


def zone_online(deployment: Deployment, zone: str) -> bool:
    overview = deployment.api(GLOBAL, "/zones/_overview")
    for item in overview["items"]:
        if item["name"] == zone:
            subscriptions = item.get("zoneInsight", {}).get("subscriptions", [])
            return bool(subscriptions) and "disconnectTime" not in subscriptions[-1]
    return False


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
                        "default": {"backends": [{"type": "Prometheus"}]}}}  # fmt: skip
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
