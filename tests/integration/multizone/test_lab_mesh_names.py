"""Calling services by their mesh hostnames in the lab, with nothing configured in the app:
the client's meshfabric-dp redirects its host's DNS to its Envoy, which answers the mesh's
names with their VIPs and resolves any other name through the host's resolver.

`flight-control.mzsvc.mesh.local` (a MeshMultiZoneService made at global) answers from
us-east-1 while the local instance lives, then from eu-west-1 through its ingress;
`flight-control.svc.eu-west-1.mesh.local` (the MeshService synced from eu-west-1) always
answers from eu-west-1."""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from meshfabric.lab import Lab
from meshfabric.lab.call_loop import answered_by, calls
from meshfabric.lab.envoy_admin import endpoint_priorities
from tests.integration.lab.support import needs_namespaces
from tests.integration.multizone.kong_air_lab import (
    GLOBAL,
    INBOUND_PORT,
    MESH,
    REPO,
    SERVICE,
    ZONES,
    Cluster,
    kill_instance,
    kong_air_mesh,
    start_load,
)
from tests.support.net import wait_until

pytestmark = [pytest.mark.lab, pytest.mark.envoy, pytest.mark.slow, needs_namespaces]

CLIENT = "us-east-1/client-1"
CLIENT_ADDRESS = "10.10.1.14"
MULTIZONE_URL = f"http://{SERVICE}.mzsvc.mesh.local:8080/"
EU_WEST_URL = f"http://{SERVICE}.svc.eu-west-1.mesh.local:8080/"
# A name only the client host's own resolver knows.
OUTSIDE_NAME, OUTSIDE_ADDRESS = "reservations.kongair.test", "10.10.1.99"
NAMES_BY_SIDECAR = ("--vips", "--dns-address", "127.0.0.1:15053", "--redirect-dns")

# The MeshService selects the instance by its inbound port: its local endpoint.
FLIGHT_CONTROL = {
    "type": "MeshService",
    "mesh": MESH,
    "name": SERVICE,
    "spec": {
        "selector": {"dataplaneTags": {"kuma.io/service": SERVICE}},
        "ports": [
            {"name": "http", "port": 8080, "targetPort": INBOUND_PORT, "appProtocol": "http"}
        ],
    },
}
FLIGHT_CONTROL_EVERYWHERE = {
    "type": "MeshMultiZoneService",
    "mesh": MESH,
    "name": SERVICE,
    "spec": {
        "selector": {"meshService": {"matchLabels": {"kuma.io/display-name": SERVICE}}},
        "ports": [{"name": "http", "port": 8080, "appProtocol": "http"}],
    },
}
RESOLVE = "import socket, sys; print(socket.getaddrinfo(sys.argv[1], 80)[0][4][0])"


@pytest.fixture
def client_resolver(lab: Lab) -> Iterator[Path]:
    """The client host's resolver: `ip netns exec` shows each process it starts in the host
    /etc/netns/<namespace>/resolv.conf as /etc/resolv.conf."""
    directory = Path("/etc/netns") / lab.host(CLIENT).namespace
    directory.mkdir(parents=True)
    (directory / "resolv.conf").write_text(f"nameserver {CLIENT_ADDRESS}\n")
    try:
        yield directory
    finally:
        shutil.rmtree(directory)
        with contextlib.suppress(OSError):
            directory.parent.rmdir()  # only if no other namespace has one


def test_in_the_lab_an_app_calls_flight_control_by_its_mesh_hostnames(
    lab: Lab, client_resolver: Path, tmp_path: Path
) -> None:
    cluster, admins = kong_air_mesh(lab, tmp_path, *NAMES_BY_SIDECAR)
    for zone in ZONES:
        path = f"/meshes/{MESH}/meshservices/{SERVICE}"
        cluster.api(f"{zone}/control-plane", "PUT", path, FLIGHT_CONTROL)
    path = f"/meshes/{MESH}/meshmultizoneservices/{SERVICE}"
    cluster.api(GLOBAL, "PUT", path, FLIGHT_CONTROL_EVERYWHERE)
    resolver = [
        sys.executable, str(REPO / "tests" / "support" / "dns_server.py"),
        CLIENT_ADDRESS, "53", f"{OUTSIDE_NAME}={OUTSIDE_ADDRESS}",
    ]  # fmt: skip
    cluster.start("resolver", CLIENT, resolver)
    wait_until(
        lambda: endpoint_priorities(admins["client"], f"{SERVICE}_mzsvc_8080") == {0, 1},
        60,
        "flight-control's instances in both zones",
    )
    wait_until(lambda: _answer(cluster, EU_WEST_URL) == "eu-west-1", 60, "eu-west-1 by name")
    # Any other name is resolved by the host's own resolver, through the sidecar.
    assert _resolve(cluster, OUTSIDE_NAME) == OUTSIDE_ADDRESS

    out, stop = start_load(cluster, tmp_path, MULTIZONE_URL)
    wait_until(lambda: answered_by(out).count("us-east-1") >= 100, 60, "steady local answers")
    before = calls(out)
    assert _answer(cluster, EU_WEST_URL) == "eu-west-1"  # its own zone, while us-east-1 serves
    kill_instance(cluster, "us-east-1")
    wait_until(lambda: answered_by(out)[len(before) :].count("eu-west-1") >= 100, 60, "eu-west-1")
    stop.touch()
    cluster.processes["load"].wait(10)
    answered = calls(out)

    assert {call.get("service") for call in before} == {"us-east-1"}
    assert {call.get("service") for call in answered[-50:]} == {"eu-west-1"}
    assert {call["caller"] for call in answered[-50:]} == {f"spiffe://{MESH}/web"}
    assert [call for call in answered if "error" in call] == []
    assert _answer(cluster, EU_WEST_URL) == "eu-west-1"
    assert _resolve(cluster, OUTSIDE_NAME) == OUTSIDE_ADDRESS


def _answer(cluster: Cluster, url: str) -> str:
    """The zone that answers one call from the client host ("" if the call fails)."""
    done = cluster.lab.host(CLIENT).run(
        ["curl", "-sf", "-m", "5", url], capture_output=True, text=True, check=False
    )
    return str(yaml.safe_load(done.stdout).get("service", "")) if done.returncode == 0 else ""


def _resolve(cluster: Cluster, name: str) -> str:
    """What getaddrinfo gives an application in the client host."""
    done = cluster.lab.host(CLIENT).run(
        [sys.executable, "-c", RESOLVE, name], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else f"failed: {done.stderr.strip()}"
