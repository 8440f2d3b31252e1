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
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import yaml

from meshfabric.lab import KONG_AIR, Lab
from meshfabric.lab.envoy_admin import endpoint_priorities, is_live
from tests.integration.dataplane.support import permission, sidecar_dataplane
from tests.integration.lab.support import needs_namespaces
from tests.integration.multizone.test_lab_cross_zone import (
    GLOBAL,
    INBOUND_PORT,
    INGRESS_PORT,
    LOAD,
    MESH,
    MESH_DOCUMENT,
    SERVICE,
    ZONES,
    Cluster,
    _calls,
    _token,
    _zones,
    start_instance,
)
from tests.support.net import wait_until

pytestmark = [pytest.mark.lab, pytest.mark.envoy, pytest.mark.slow, needs_namespaces]

REPO = Path(__file__).resolve().parents[3]
CLIENT = "us-east-1/client-1"
CLIENT_ADDRESS = "10.10.1.14"
MULTIZONE_URL = f"http://{SERVICE}.mzsvc.mesh.local:8080/"
EU_WEST_URL = f"http://{SERVICE}.svc.eu-west-1.mesh.local:8080/"
# A name only the client host's own resolver knows.
OUTSIDE_NAME, OUTSIDE_ADDRESS = "reservations.kongair.test", "10.10.1.99"

# The MeshService selects the instance by its inbound port.
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
def lab() -> Iterator[Lab]:
    with tempfile.TemporaryDirectory(prefix="mflab-", dir="/tmp") as parent:
        started = Lab.up(KONG_AIR, state_dir=Path(parent) / "state")
        try:
            yield started
        finally:
            started.down()


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
    cluster = Cluster(lab, tmp_path)
    cluster.control_plane(GLOBAL, "--mode", "global", MESHFABRIC_KDS__ADDRESS="10.10.0.10")
    cluster.api(GLOBAL, "PUT", f"/meshes/{MESH}", MESH_DOCUMENT)
    allow = permission(MESH, "web-to-flight-control", SERVICE, "web")
    cluster.api(GLOBAL, "PUT", f"/meshes/{MESH}/meshtrafficpermissions/{allow['name']}", allow)
    cluster.api(
        GLOBAL, "PUT", f"/meshes/{MESH}/meshmultizoneservices/{SERVICE}", FLIGHT_CONTROL_EVERYWHERE
    )
    admins = {}
    for zone, lan in ZONES.items():
        token = tmp_path / f"{zone}.token"
        token.write_text(cluster.api(GLOBAL, "POST", "/tokens/zone", {"zone": zone}))
        cp = f"{zone}/control-plane"
        cluster.control_plane(
            cp, "--mode", "zone", "--zone", zone,
            "--global-address", "grpcs://10.10.0.10:5685", "--zone-token-file", str(token),
            "--global-ca-file", str(cluster.data(GLOBAL) / "kds-ca.crt"),
            "--xds-unix-socket", str(cluster.xds_socket(zone)),
        )  # fmt: skip
        wait_until(partial(cluster.answers, cp, f"/meshes/{MESH}"), 30, f"the mesh in {zone}")
        cluster.api(cp, "PUT", f"/meshes/{MESH}/meshservices/{SERVICE}", FLIGHT_CONTROL)
        ingress_token = cluster.api(
            cp, "POST", "/tokens/dataplane", {"mesh": MESH, "type": "ingress", "name": "ingress"}
        )
        admins[f"ingress-{zone}"] = cluster.dp(
            f"ingress-{zone}", f"{zone}/ingress", zone, ingress_token,
            "--proxy-type", "ingress", "--name", "ingress", "--mesh", MESH,
            "--address", f"{lan}.11", "--ingress-port", str(INGRESS_PORT),
            "--advertised-address", f"{lan}.11",
        )  # fmt: skip
        admins[f"server-{zone}"] = start_instance(cluster, zone, "")

    resolver = [
        sys.executable, str(REPO / "tests" / "support" / "dns_server.py"),
        CLIENT_ADDRESS, "53", f"{OUTSIDE_NAME}={OUTSIDE_ADDRESS}",
    ]  # fmt: skip
    cluster.start("resolver", CLIENT, resolver)
    web = sidecar_dataplane("web-1", INBOUND_PORT, 8081, "web", "http")
    web["networking"]["address"] = CLIENT_ADDRESS
    admins["client"] = cluster.dp(
        "client", CLIENT, "us-east-1", _token(cluster, "us-east-1/control-plane", "web"),
        "--dataplane", yaml.safe_dump(web),
        "--vips", "--dns-address", "127.0.0.1:15053", "--redirect-dns",
    )  # fmt: skip
    for name, admin in admins.items():
        wait_until(partial(is_live, admin), 60, f"the Envoy of {name}")
    multizone_cluster = f"{SERVICE}_mzsvc_8080"
    wait_until(
        lambda: endpoint_priorities(admins["client"], multizone_cluster) == {0, 1},
        60,
        "flight-control's instances in both zones",
    )
    wait_until(lambda: _answer(cluster, EU_WEST_URL) == "eu-west-1", 60, "eu-west-1 by name")
    # Any other name is resolved by the host's own resolver, through the sidecar.
    assert _resolve(cluster, OUTSIDE_NAME) == OUTSIDE_ADDRESS

    out, stop = tmp_path / "load.jsonl", tmp_path / "stop"
    cluster.start("load", CLIENT, [sys.executable, "-c", LOAD, MULTIZONE_URL, str(out), str(stop)])
    wait_until(lambda: _zones(out).count("us-east-1") >= 100, 60, "steady local answers")
    before = _calls(out)
    assert _answer(cluster, EU_WEST_URL) == "eu-west-1"  # its own zone, while us-east-1 serves
    cluster.processes["app-us-east-1"].kill()  # the local instance dies, then its sidecar
    cluster.processes["server-us-east-1"].terminate()
    cluster.processes["server-us-east-1"].wait(10)
    wait_until(lambda: _zones(out)[len(before) :].count("eu-west-1") >= 100, 60, "eu-west-1")
    stop.touch()
    cluster.processes["load"].wait(10)
    calls = _calls(out)

    assert {call.get("service") for call in before} == {"us-east-1"}
    assert {call.get("service") for call in calls[-50:]} == {"eu-west-1"}
    assert {call["caller"] for call in calls[-50:]} == {f"spiffe://{MESH}/web"}
    assert [call for call in calls if "error" in call] == []
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
