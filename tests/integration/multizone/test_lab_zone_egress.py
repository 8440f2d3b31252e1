"""A mesh that requires zoneEgress, in a lab whose routers let only each zone's egress host
reach other zones' ingresses (`--zone-egress`). flight-control runs in eu-west-1 only; the
client in us-east-1 reaches it through us-east-1's egress and eu-west-1's ingress, mTLS end
to end. Without the egress its calls fail, with nothing going around it, and they resume when
it returns, this time authorised by the zone's zone token. A MeshExternalService (a plain
HTTP server on a host of us-east-1) is reached through the egress too, by an outbound that
names it and by its hostname, and not without the egress.
Apart from the mesh, no connection from the client's host to any eu-west-1 host succeeds."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfabric.lab import KONG_AIR, Lab
from meshfabric.lab.envoy_admin import admin_get, endpoint_priorities, is_live
from tests.integration.dataplane.support import sidecar_dataplane
from tests.integration.lab.support import connects, needs_namespaces
from tests.integration.multizone.kong_air_lab import (
    FLIGHT_CONTROL,
    GLOBAL,
    MESH,
    SERVICE,
    Cluster,
    dataplane_token,
    federate,
    start_instance,
)
from tests.support.net import wait_until

pytestmark = [pytest.mark.lab, pytest.mark.envoy, pytest.mark.slow, needs_namespaces]

CLIENT_HOST = "us-east-1/client-1"
ZONE_CP = "us-east-1/control-plane"
EGRESS_HOST = "us-east-1/egress"
EGRESS_ADDRESS, EGRESS_PORT = "10.10.1.12", 10002  # the egress host (docs/lab.md)
INBOUND_PORT, OUTBOUND_PORT, INGRESS_PORT = 20001, 18080, 10001
# A plain HTTP server outside the mesh, on a host of us-east-1 with no sidecar.
EXTERNAL = "httpbin"
EXTERNAL_HOST, EXTERNAL_ADDRESS, EXTERNAL_PORT = "us-east-1/flight-control-1", "10.10.1.13", 8090
EXTERNAL_OUTBOUND_PORT = 18081
EXTERNAL_URL = f"http://{EXTERNAL}.extsvc.mesh.local/"  # its default hostname and match.port
# The client's sidecar answers the mesh's names and listens on their VIPs.
NAMES_BY_SIDECAR = ("--vips", "--dns-address", "127.0.0.1:15053", "--redirect-dns")
MESH_DOCUMENT = {
    "type": "Mesh",
    "name": MESH,
    "mtls": {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]},
    "routing": {"zoneEgress": True},
}


@dataclass
class EgressMesh:
    lab: Lab
    cluster: Cluster
    client: Path  # admin sockets
    ingress: Path
    egress: Path | None = None  # while it runs
    starts: int = 0

    def start_egress(self, zone_token: bool = False) -> None:
        """With `zone_token`, authorised by us-east-1's zone token (scope egress) made at
        global, else by a dataplane token of type egress made in the zone."""
        if zone_token:
            request = {"zone": "us-east-1", "scope": ["egress"]}
            token = self.cluster.api(GLOBAL, "POST", "/tokens/zone", request)
        else:
            request = {"mesh": MESH, "type": "egress", "name": "egress"}
            token = self.cluster.api(ZONE_CP, "POST", "/tokens/dataplane", request)
        self.starts += 1
        key = f"egress-{self.starts}"  # a directory of its own each time
        admin = self.cluster.dp(
            key, EGRESS_HOST, "us-east-1", token, "--proxy-type", "egress", "--name", "egress",
            "--mesh", MESH, "--address", EGRESS_ADDRESS, "--egress-port", str(EGRESS_PORT),
        )  # fmt: skip
        self.cluster.processes["egress"] = self.cluster.processes.pop(key)
        wait_until(partial(is_live, admin), 60, "the egress's Envoy")
        self.egress = admin

    def stop_egress(self) -> None:
        egress = self.cluster.processes.pop("egress")
        egress.send_signal(signal.SIGTERM)
        egress.wait(10)  # deregistered: its ZoneEgress is gone
        self.egress = None

    def call(
        self, url: str = f"http://127.0.0.1:{OUTBOUND_PORT}/"
    ) -> subprocess.CompletedProcess[str]:
        """One call from the client's host through its sidecar: to flight-control, or to
        `url`."""
        command = ["curl", "-s", "-m", "5", "-o", "-", "-w", "\n%{http_code}", url]
        host = self.lab.host(CLIENT_HOST)
        return host.run(command, capture_output=True, text=True, check=False)

    def answer(self) -> dict[str, str] | None:
        """The answer of a successful call, else None."""
        done = self.call()
        body, _, status = done.stdout.rpartition("\n")
        return json.loads(body) if done.returncode == 0 and status == "200" else None

    def zone_at_global(self) -> dict[str, Any]:
        """us-east-1 in global's zone overview."""
        overview = json.loads(self.cluster.api(GLOBAL, "GET", "/zones/_overview"))
        found: dict[str, Any] = next(z for z in overview["items"] if z["name"] == "us-east-1")
        return found

    def warnings(self) -> list[str]:
        path = f"/meshes/{MESH}/dataplanes/web-1/_config"
        found: list[str] = json.loads(self.cluster.api(ZONE_CP, "GET", path))["warnings"]
        return found


@pytest.fixture(scope="module")
def mesh() -> Iterator[EgressMesh]:
    with tempfile.TemporaryDirectory(prefix="mflab-", dir="/tmp") as parent:
        lab = Lab.up(KONG_AIR.with_zone_egress(True), state_dir=Path(parent) / "state")
        try:
            yield _start(lab, Path(parent) / "work")
        finally:
            lab.down()  # ends every process the test started in the lab's hosts


def _start(lab: Lab, work: Path) -> EgressMesh:
    work.mkdir()
    cluster = federate(lab, work, MESH_DOCUMENT)
    eu_cp = "eu-west-1/control-plane"
    cluster.api(eu_cp, "PUT", f"/meshes/{MESH}/meshservices/{SERVICE}", FLIGHT_CONTROL)
    ingress_token = cluster.api(
        eu_cp, "POST", "/tokens/dataplane", {"mesh": MESH, "type": "ingress", "name": "ingress"}
    )
    ingress = cluster.dp(
        "ingress", "eu-west-1/ingress", "eu-west-1", ingress_token,
        "--proxy-type", "ingress", "--name", "ingress", "--mesh", MESH,
        "--address", "10.10.2.11", "--ingress-port", str(INGRESS_PORT),
        "--advertised-address", "10.10.2.11",
    )  # fmt: skip
    server = start_instance(cluster, "eu-west-1", "")
    web = sidecar_dataplane("web-1", INBOUND_PORT, 8081, "web", "http", {OUTBOUND_PORT: SERVICE})
    web["networking"]["address"] = "10.10.1.14"
    web["networking"]["outbound"].append(
        {
            "port": EXTERNAL_OUTBOUND_PORT,
            "backendRef": {"kind": "MeshExternalService", "name": EXTERNAL},
        }
    )
    start_external_service(cluster)
    client_token = dataplane_token(cluster, ZONE_CP, "web")
    client = cluster.dp(
        "client", CLIENT_HOST, "us-east-1", client_token, "--dataplane", yaml.safe_dump(web),
        *NAMES_BY_SIDECAR,
    )  # fmt: skip
    for name, socket in {"ingress": ingress, "server": server, "client": client}.items():
        wait_until(partial(is_live, socket), 60, f"the Envoy of {name}")
    started = EgressMesh(lab, cluster, client, ingress)
    started.start_egress()
    wait_until(lambda: started.answer() is not None, 60, "a first answer through the egress")
    return started


def test_cross_zone_calls_flow_only_through_the_egress_and_stop_while_it_is_down(
    mesh: EgressMesh,
) -> None:
    if mesh.egress is None:
        mesh.start_egress()
    # Through the egress: eu-west-1 answers, and sees the client's own certificate.
    before = _egress_bytes(mesh)
    answers = [mesh.answer() for _ in range(5)]
    assert answers == [{"service": "eu-west-1", "caller": f"spiffe://{MESH}/web"}] * 5
    assert _egress_bytes(mesh) > before
    assert endpoint_priorities(mesh.client, SERVICE) == {1}
    assert mesh.warnings() == []

    mesh.stop_egress()
    wait_until(lambda: not endpoint_priorities(mesh.client, SERVICE), 30, "no way out")
    through_ingress = _ingress_connections(mesh)
    failed = [mesh.call() for _ in range(5)]
    assert [done.stdout.rpartition("\n")[2] for done in failed] == ["503"] * 5
    assert _ingress_connections(mesh) == through_ingress  # nothing went around the egress
    assert any("no ZoneEgress registered" in warning for warning in mesh.warnings())
    # Global says so too, in the zone's overview (meshctl inspect zones).
    wait_until(lambda: mesh.zone_at_global()["zoneEgresses"] == 0, 30, "global to see it gone")
    [warning] = mesh.zone_at_global()["warnings"]
    assert 'zone "us-east-1" has no ZoneEgress' in warning

    mesh.start_egress(zone_token=True)
    wait_until(lambda: mesh.answer() is not None, 60, "answers through the egress again")
    wait_until(lambda: mesh.zone_at_global()["warnings"] == [], 30, "global to see it back")
    assert mesh.zone_at_global()["zoneEgresses"] == 1
    resumed = _egress_bytes(mesh)
    assert mesh.answer() == {"service": "eu-west-1", "caller": f"spiffe://{MESH}/web"}
    assert _egress_bytes(mesh) > resumed
    assert mesh.warnings() == []


def test_from_the_client_host_no_eu_west_1_address_is_reachable_except_through_the_mesh(
    mesh: EgressMesh,
) -> None:
    if mesh.egress is None:
        mesh.start_egress()
    targets = sorted(
        (host.key, host.address, port)
        for host in mesh.lab.hosts
        if host.planned.zone == "eu-west-1"
        for port in _listening_ports(mesh.lab, host.key, host.address)
    )
    # Each eu-west-1 host listens on its LAN address: sshd everywhere, the ingress, the
    # instance's sidecar.
    assert {(key, port) for key, _, port in targets} >= {
        ("eu-west-1/ingress", 22),
        ("eu-west-1/ingress", INGRESS_PORT),
        ("eu-west-1/flight-control-1", INBOUND_PORT),
    }
    namespaces = {host.key: host.namespace for host in mesh.lab.hosts}
    with ThreadPoolExecutor(8) as pool:
        from_inside = list(
            pool.map(lambda t: connects(namespaces["eu-west-1/flight-control-2"], *t[1:]), targets)
        )
        from_client = list(pool.map(lambda t: connects(namespaces[CLIENT_HOST], *t[1:]), targets))
    assert all(from_inside), [t for t, ok in zip(targets, from_inside, strict=True) if not ok]
    assert [t for t, ok in zip(targets, from_client, strict=True) if ok] == []
    assert mesh.answer() == {"service": "eu-west-1", "caller": f"spiffe://{MESH}/web"}


def test_an_external_service_is_reached_only_through_the_egress_and_not_while_it_is_down(
    mesh: EgressMesh,
) -> None:
    if mesh.egress is None:
        mesh.start_egress()
    wait_until(lambda: _external_status(mesh) == "200", 30, "the external service")
    before = _stat(_running(mesh), f"cluster.egress_extsvc_{EXTERNAL}.upstream_cx_total")
    assert [_external_status(mesh) for _ in range(3)] == ["200"] * 3
    wait_until(lambda: _external_status(mesh, EXTERNAL_URL) == "200", 30, "its hostname")
    assert _stat(_running(mesh), f"cluster.egress_extsvc_{EXTERNAL}.upstream_cx_total") > before
    # The external server saw the egress's address, never the client's.
    callers = {line.split()[0] for line in _external_log(mesh) if '"GET / ' in line}
    assert callers == {EGRESS_ADDRESS}

    mesh.stop_egress()
    wait_until(lambda: _external_status(mesh) == "503", 30, "no way out")
    served = len(_external_log(mesh))
    assert [_external_status(mesh) for _ in range(3)] == ["503"] * 3
    assert _external_status(mesh, EXTERNAL_URL) == "503"
    assert len(_external_log(mesh)) == served  # nothing reached it around the egress
    mesh.start_egress()
    wait_until(lambda: _external_status(mesh) == "200", 60, "the external service again")


def start_external_service(cluster: Cluster) -> None:
    root = cluster.work / "external-root"
    root.mkdir()
    (root / "index.html").write_text("outside the mesh\n")
    server = [
        sys.executable, "-m", "http.server", str(EXTERNAL_PORT),
        "--bind", EXTERNAL_ADDRESS, "--directory", str(root),
    ]  # fmt: skip
    cluster.start("external", EXTERNAL_HOST, server)
    external = {
        "type": "MeshExternalService",
        "mesh": MESH,
        "name": EXTERNAL,
        "spec": {
            "match": {"type": "HostnameGenerator", "port": 80, "protocol": "http"},
            "endpoints": [{"address": EXTERNAL_ADDRESS, "port": EXTERNAL_PORT}],
        },
    }
    cluster.api(ZONE_CP, "PUT", f"/meshes/{MESH}/meshexternalservices/{EXTERNAL}", external)


def _external_status(
    mesh: EgressMesh, url: str = f"http://127.0.0.1:{EXTERNAL_OUTBOUND_PORT}/"
) -> str:
    """Through the outbound that names the service, or at `url`."""
    return mesh.call(url).stdout.rpartition("\n")[2]


def _external_log(mesh: EgressMesh) -> list[str]:
    """The external server's request log (http.server writes it to stderr)."""
    return (mesh.cluster.work / "external.log").read_text().splitlines()


def _running(mesh: EgressMesh) -> Path:
    assert mesh.egress is not None
    return mesh.egress


def _listening_ports(lab: Lab, host: str, address: str) -> set[int]:
    """The TCP ports a lab host listens on at its own address or on every address."""
    done = lab.host(host).run(["ss", "-Hltn"], capture_output=True, text=True, check=True)
    ports = set()
    for line in done.stdout.splitlines():
        local = line.split()[3]
        bound, _, port = local.rpartition(":")
        if bound in (address, "0.0.0.0", "*", "[::]"):
            ports.add(int(port))
    return ports


def _stat(socket: Path, name: str) -> int:
    text = admin_get(socket, f"/stats?filter=^{name}$")
    return int(text.rpartition(": ")[2]) if text.strip() else 0


def _egress_bytes(mesh: EgressMesh) -> int:
    """Bytes the running egress carried to eu-west-1's ingress for flight-control (Envoy
    shows the cluster name's ":" as "_")."""
    return _stat(_running(mesh), f"cluster.egress_{SERVICE}.upstream_cx_tx_bytes_total")


def _ingress_connections(mesh: EgressMesh) -> int:
    return _stat(mesh.ingress, f"cluster.ingress_{SERVICE}.upstream_cx_total")
