"""playbooks/site.yml deploys the whole mesh onto lab hosts over SSH with the collection's
roles, as onto real machines, in one run (the session's `mesh_run`, conftest.py): global, both
zones, each joining it with a zone token issued at global, their ingresses and egresses, the
mesh with mTLS and its policies, flight-control's sidecars in both zones and its client's in
us-east-1 (Envoy and meshfabric-dp from the wheelhouse, tokens issued by their zones); on
global's host, the mesh's Prometheus, its dashboards and the access-log sink. A call from
us-east-1 crosses to eu-west-1 through its ingress; a second run changes nothing; check mode
reports a change and makes none; a wrong variable stops the run in preflight, naming the
variable, before anything is made on the host.

test_upgrade_lab.py goes on with the same deployment when both run in one pytest process.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from tests.integration.lab.support import needs_namespaces
from tests.support.ansible_lab import (
    EGRESSES,
    GLOBAL_CONTROL_PLANE,
    INBOUND,
    INGRESSES,
    MESH_HOSTS,
    SERVERS,
    ZONE_CONTROL_PLANES,
    ZONES,
    CrossZone,
    Deployment,
    Run,
    zone_online,
)
from tests.support.net import wait_until

# The first run installs ten hosts from the wheelhouse: many minutes on a busy machine.
pytestmark = [pytest.mark.lab, needs_namespaces, pytest.mark.slow, pytest.mark.timeout(2400)]

GLOBAL, ZONE = GLOBAL_CONTROL_PLANE, ZONE_CONTROL_PLANES[0]
SIDECAR = SERVERS["us-east-1"]
CONTROL_PLANES = (GLOBAL, *ZONE_CONTROL_PLANES)
ZONE_OF = dict(zip(ZONES, ZONE_CONTROL_PLANES, strict=True))
# The lab's addresses: zone N (global is 0) has the LAN 10.10.N.0/24, its hosts from .10 on.
LAN = {"us-east-1": "10.10.1", "eu-west-1": "10.10.2"}
NEVER_DEPLOYED_SIDECAR = "flight-control-2.eu-west-1"


def test_site_deploys_global_and_both_zones_that_join_it(
    deployment: Deployment, mesh_run: Run
) -> None:
    assert mesh_run.returncode == 0, mesh_run.output

    for zone, control_plane in ZONE_OF.items():
        assert deployment.api(control_plane, "/ready") is not None
        wait_until(lambda zone=zone: zone_online(deployment, zone), 60, f"{zone} online")
        config = yaml.safe_load(
            (
                deployment.hosts_dir / control_plane / "etc/control-plane/control-plane.yaml"
            ).read_text()
        )
        assert config["zone"]["name"] == zone
        assert config["zone"]["global_address"] == "grpcs://10.10.0.10:5685"


def test_admin_tokens_reach_the_controller_unseen(deployment: Deployment, mesh_run: Run) -> None:
    credentials = deployment.work / "playbooks" / "credentials"
    token = (credentials / ZONE / "admin-token").read_text().strip()

    assert (credentials / ZONE / "admin-token").stat().st_mode & 0o077 == 0
    assert (credentials / GLOBAL / "kds-ca.crt").read_text().startswith("-----BEGIN CERTIFICATE")
    assert token not in mesh_run.output
    assert deployment.api(ZONE, "/meshes")["total"] >= 0


def test_a_call_from_us_east_1_is_answered_by_eu_west_1_through_its_ingress(
    deployment: Deployment, cross_zone: CrossZone
) -> None:
    from_eu_west = [answer for answer in cross_zone.calls() if answer.get("service") == "eu-west-1"]
    # Envoy shows the ":" of a cluster's name as "_" in its stats.
    connections = envoy_stats(
        deployment, "ingress.eu-west-1", r"^cluster\.ingress_.*\.upstream_cx_total$"
    )

    assert from_eu_west, cross_zone.calls()[-5:]
    assert {answer["caller"] for answer in from_eu_west} == {"spiffe://default/web"}
    assert sum(connections.values()) > 0, connections


def test_a_second_run_changes_nothing(deployment: Deployment, mesh_run: Run) -> None:
    assert mesh_run.returncode == 0, mesh_run.output

    second = deployment.site("--limit", ",".join(MESH_HOSTS))

    assert second.returncode == 0, second.output
    assert second.changed() == dict.fromkeys(MESH_HOSTS, 0)


def test_check_mode_reports_a_change_and_makes_none(deployment: Deployment, mesh_run: Run) -> None:
    assert mesh_run.returncode == 0, mesh_run.output
    configs = [
        deployment.hosts_dir / host / "etc/control-plane/control-plane.yaml"
        for host in CONTROL_PLANES
    ]
    before = [config.read_text() for config in configs]

    checked = deployment.site(
        "--limit", ",".join(MESH_HOSTS), "--check", "--extra-vars", "control_plane_log_level=DEBUG"
    )

    assert checked.returncode == 0, checked.output
    assert checked.changed() == {**dict.fromkeys(MESH_HOSTS, 0), **dict.fromkeys(CONTROL_PLANES, 1)}
    assert [config.read_text() for config in configs] == before


def test_the_sidecar_registers_with_its_zone_and_its_envoy_is_live(
    deployment: Deployment, mesh_run: Run
) -> None:
    assert mesh_run.returncode == 0, mesh_run.output
    sidecar = deployment.lab.host(deployment.lab_key(SIDECAR))

    dataplane = deployment.api(ZONE, f"/meshes/default/dataplanes/{SIDECAR}")
    ready = sidecar.run(["curl", "-s", "http://127.0.0.1:9901/ready"],
                        capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    envoy = deployment.hosts_dir / SIDECAR / "opt/dataplane/bin/envoy"
    version = subprocess.run([str(envoy), "--version"], capture_output=True, text=True, check=True)

    assert dataplane["networking"]["inbound"][0]["tags"]["kuma.io/service"] == "flight-control"
    assert ready.stdout.strip() == "LIVE"
    assert "/1.40.0/" in version.stdout


# Where other zones dial an ingress, where its zone's sidecars dial an egress: the host's
# own address (the ingress is host .11 of its zone's LAN, the egress .12).
@pytest.mark.parametrize(
    ("hosts", "plural", "field", "host_number"),
    [
        (INGRESSES, "zoneingresses", "advertisedAddress", 11),
        (EGRESSES, "zoneegresses", "address", 12),
    ],
    ids=["ingresses", "egresses"],
)
def test_each_zones_ingress_and_egress_register_with_it_and_their_envoys_are_live(
    deployment: Deployment,
    mesh_run: Run,
    hosts: tuple[str, ...],
    plural: str,
    field: str,
    host_number: int,
) -> None:
    assert mesh_run.returncode == 0, mesh_run.output

    for zone, host in zip(ZONES, hosts, strict=True):
        registered = deployment.api(ZONE_OF[zone], f"/{plural}/{host}")
        ready = deployment.lab.host(deployment.lab_key(host)).run(
            ["curl", "-s", "http://127.0.0.1:9901/ready"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

        assert registered["networking"][field] == f"{LAN[zone]}.{host_number}"
        assert ready.stdout.strip() == "LIVE"


def test_the_telemetry_hosts_prometheus_scrapes_the_zones_proxies_and_every_control_plane(
    deployment: Deployment, mesh_run: Run
) -> None:
    assert mesh_run.returncode == 0, mesh_run.output
    metrics = {"type": "MeshMetric", "mesh": "default", "name": "prometheus",
               "spec": {"targetRef": {"kind": "Mesh"},
                        "default": {"backends": [{"type": "Prometheus",
                                                      "prometheus": {"port": 5670}}]}}}  # fmt: skip
    deployment.put(GLOBAL, "/meshes/default/meshmetrics/prometheus", metrics)

    def scraped(expression: str) -> list[tuple[str, str]]:
        samples = prometheus(deployment, "api/v1/query", expression)["data"]["result"]
        return sorted((s["metric"].get("zone", ""), s["metric"]["instance"]) for s in samples)

    # flight-control-1 is host .13 of each zone's LAN, each zone's control plane host .10.
    proxy = 'envoy_server_live{job="meshfabric-proxies", service="flight-control"} == 1'
    proxies = sorted((zone, f"{LAN[zone]}.13:5670") for zone in ZONES)
    wait_until(lambda: scraped(proxy) == proxies, 60, "flight-control's proxies")
    control_planes = 'meshfabric_leader{job="meshfabric-control-planes"}'
    wait_until(lambda: len(scraped(control_planes)) == 3, 60, "the three control planes")
    assert scraped(control_planes) == sorted(
        [("global", "127.0.0.1:5680"), *((zone, f"{LAN[zone]}.10:5680") for zone in ZONES)]
    )
    page = prometheus(deployment, "consoles/meshfabric.html")
    assert "meshfabric / Control plane" in page and '<td class="value">' in page
    dashboards = deployment.hosts_dir / GLOBAL / "var/lib/grafana/dashboards"
    assert sorted(path.name for path in dashboards.iterdir()) == [
        "meshfabric-control-plane.json", "meshfabric-mesh.json",
        "meshfabric-service.json", "meshfabric-zone.json",
    ]  # fmt: skip


def test_the_telemetry_hosts_log_sink_writes_each_line_it_receives(
    deployment: Deployment, mesh_run: Run
) -> None:
    assert mesh_run.returncode == 0, mesh_run.output
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


def envoy_stats(deployment: Deployment, host: str, pattern: str) -> dict[str, int]:
    """The counters of the Envoy on `host` (admin on 127.0.0.1:9901) whose names match."""
    done = deployment.lab.host(deployment.lab_key(host)).run(
        ["curl", "-sf", "-G", "http://127.0.0.1:9901/stats",
         "--data-urlencode", f"filter={pattern}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = (line.rpartition(": ") for line in done.stdout.splitlines())
    return {name: int(value) for name, _, value in lines}


# The hosts stand for machines with nothing installed: each run gets a root of its own
# (lab_host_root, under which GROUP_VARS put every directory of the roles), so a zone's token
# on the deployed host does not stand in for the one the run lacks.
@pytest.mark.parametrize(
    ("host", "extra_vars", "named"),
    [
        (ZONE_OF["eu-west-1"], {"control_plane_mode": "edge"}, "control_plane_mode"),
        (ZONE_OF["eu-west-1"], {"control_plane_zone_name": ""}, "control_plane_zone_name"),
        (ZONE_OF["eu-west-1"], {"control_plane_xds_port": 70000}, "control_plane_xds_port"),
        (
            ZONE_OF["eu-west-1"],
            {
                "control_plane_global_host": "nowhere",
                "control_plane_global_address": "grpcs://10.10.0.10:5685",
            },
            "control_plane_zone_token",
        ),
        (
            NEVER_DEPLOYED_SIDECAR,
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
    deployment: Deployment,
    host: str,
    extra_vars: dict[str, Any],
    named: str,
    request: pytest.FixtureRequest,
) -> None:
    root = deployment.work / "empty-hosts" / request.node.callspec.id
    variables = {**extra_vars, "lab_host_root": str(root)}

    run = deployment.site("--limit", host, "--extra-vars", json.dumps(variables))

    assert run.returncode != 0
    assert any(named in message for message in run.failures()), run.failures()
    assert run.changed() == {host: 0}
    assert not root.exists()
