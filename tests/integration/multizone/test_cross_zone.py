"""Cross-zone traffic on loopback: global and two zone control planes joined over KDS, a
ZoneIngress (real Envoy) in each zone, flight-control in both zones and a client sidecar in
us-east-1. The client's calls stay local while a local instance lives, and go through
eu-west-1's ingress, mTLS end to end, once it is gone, with no failed request: whether the
instance stops (its sidecar answers for the gone application, then deregisters) or its host
crashes (nothing answers, its Dataplane stays registered), with several clients at once."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from meshfabric.lab.envoy_admin import admin_get, is_live
from meshfabric.resources import REGISTRY
from tests.integration.dataplane.support import (
    HttpApp,
    Sidecar,
    ZoneControlPlane,
    permission,
    sidecar_dataplane,
)
from tests.integration.kds.conftest import Federation
from tests.support.control_plane import ControlPlane
from tests.support.net import free_port, wait_until

pytestmark = [pytest.mark.envoy, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
MESH = "default"
SERVICE = "flight-control"


class ZoneApp(HttpApp):
    """flight-control in one zone: answers with its zone and the caller Envoy vouched for."""

    def __init__(self, zone: str) -> None:
        super().__init__(zone=zone)
        self.start()


@dataclass
class Zone:
    name: str
    cp: ControlPlane
    xds_socket: Path

    @property
    def cp_address(self) -> str:
        return f"unix://{self.xds_socket}"

    def token(self, **request: Any) -> str:
        with self.cp.client() as client:
            issued = client.post("/tokens/dataplane", json={"mesh": MESH, **request})
        issued.raise_for_status()
        return issued.text


@dataclass
class Load:
    """One client calling in a loop, counting answers by zone and every failure."""

    url: str
    answers: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                try:
                    response = client.get(self.url)
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                    continue
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code} {response.text[:200]}")
                else:
                    self.answers.append(response.json())

    def stop(self) -> None:
        self._stop.set()

    def zones(self, since: int = 0) -> Counter[str]:
        return Counter(answer["zone"] for answer in self.answers[since:])


def start_zone(federation: Federation, name: str) -> Zone:
    socket = federation.tmp_path / f"{name}-xds.sock"
    cp = federation.start_zone(
        name, None, "--xds-unix-socket", str(socket), env={"MESHFABRIC_XDS__ADDRESS": "127.0.0.1"}
    )
    wait_until(lambda: _holds_mesh(cp), 30, f"the mesh to reach {name}")
    return Zone(name, cp, socket)


def _holds_mesh(cp: ControlPlane) -> bool:
    with cp.client() as client:
        return client.get(f"/meshes/{MESH}").status_code == 200


@dataclass
class Ingress:
    process: subprocess.Popen[bytes]
    admin_socket: Path
    directory: Path

    @property
    def log(self) -> str:
        return (self.directory / "dp.log").read_text()

    def stat(self, name: str) -> int:
        text = admin_get(self.admin_socket, f"/stats?filter=^{name}$")
        return sum(int(line.rpartition(": ")[2]) for line in text.splitlines() if ": " in line)


def start_ingress(zone: Zone, work: Path, started: list[Ingress], token_text: str = "") -> Ingress:
    """The zone's ingress, with a dataplane token of type ingress unless given a token."""
    port = free_port()
    directory = work / f"ingress-{zone.name}-{port}"
    directory.mkdir(parents=True)
    token = directory / "token"
    token.write_text(token_text or zone.token(type="ingress", name="ingress"))
    admin = directory / "admin.sock"
    log = (directory / "dp.log").open("ab")
    command = [
        sys.executable, "-m", "meshfabric.dp", "run", "--proxy-type", "ingress",
        "--cp-address", zone.cp_address, "--name", "ingress", "--mesh", MESH,
        "--address", "127.0.0.1", "--ingress-port", str(port),
        "--advertised-address", "127.0.0.1", "--advertised-port", str(port),
        "--dataplane-token-file", str(token), "--admin-socket", str(admin),
        "--work-dir", str(directory), "--cp-wait-seconds", "10",
    ]  # fmt: skip
    started.append(Ingress(subprocess.Popen(command, stdout=log, stderr=log), admin, directory))
    return started[-1]


def start_sidecar(
    zone: Zone, work: Path, dataplane: dict[str, Any], started: list[Sidecar]
) -> Sidecar:
    services = [i["tags"]["kuma.io/service"] for i in dataplane["networking"]["inbound"]]
    token = zone.token(tags={"kuma.io/service": services})
    # The fixture's control plane is only read when cp_address is empty.
    placeholder: Any = None
    cp: ZoneControlPlane = placeholder
    sidecar = Sidecar(cp, work / zone.name, dataplane, token, cp_address=zone.cp_address)
    started.append(sidecar.start())
    return sidecar


def test_an_ingress_of_a_zone_with_no_service_yet_is_ready_without_an_initial_fetch_timeout(
    federation: Federation, work: Path
) -> None:
    """Envoy counts a type as fetched only once the control plane answers it; a zone with no
    service has no cluster and no listener for its ingress, and the answer must still come."""
    zone = start_zone(federation, "us-east-1")
    ingresses: list[Ingress] = []
    try:
        ingress = start_ingress(zone, work, ingresses)
        wait_until(partial(is_live, ingress.admin_socket), 30, "the ingress's Envoy live")
        assert ingress.stat("cluster_manager.cds.init_fetch_timeout") == 0
        assert ingress.stat("listener_manager.lds.init_fetch_timeout") == 0
    finally:
        for started in ingresses:
            started.process.terminate()
            started.process.wait(10)


# The defaults alone, with Kong Air's MeshRetry, which replaces them, and with retries alone:
# nothing ejects a crashed instance that is still an endpoint, so every call to it fails and
# each client's retry must reach the other zone, every client's at once.
KONG_AIR_RETRY = next(
    document
    for document in yaml.safe_load_all((REPO / "examples/kong-air/20-policies.yaml").read_text())
    if document["type"] == "MeshRetry"
)
NO_OUTLIER_DETECTION = {
    "type": "MeshCircuitBreaker",
    "mesh": MESH,
    "name": "no-outlier-detection",
    "spec": {
        "targetRef": {"kind": "Mesh"},
        "to": [
            {
                "targetRef": {"kind": "Mesh"},
                "default": {  # Kuma's schema wants a detector named even when disabled
                    "outlierDetection": {
                        "disabled": True,
                        "detectors": {"gatewayFailures": {"consecutive": 3}},
                    }
                },
            }
        ],
    },
}
CLIENTS = 6  # more than Envoy's default 3 retries in flight per cluster


@pytest.fixture
def work() -> Iterator[Path]:
    """A short directory for the proxies: an Envoy admin socket's path must stay under the
    108 bytes a Unix socket address holds, which pytest's own temporary paths can exceed."""
    with tempfile.TemporaryDirectory(prefix="mfxz-", dir="/tmp") as directory:
        yield Path(directory)


@pytest.mark.parametrize(
    ("policies", "crash"),
    [([], False), ([KONG_AIR_RETRY], False), ([NO_OUTLIER_DETECTION], True)],
    ids=["defaults", "kong-air-retry", "retries-alone-after-a-crash"],
)
def test_calls_stay_local_then_fail_over_through_the_remote_ingress_without_errors(
    federation: Federation, work: Path, policies: list[dict[str, Any]], crash: bool
) -> None:
    with federation.global_cp.client() as client:
        document = permission(MESH, "web-to-flight-control", SERVICE, "web")
        path = f"/meshes/{MESH}/meshtrafficpermissions/{document['name']}"
        client.put(path, json=document).raise_for_status()
        for extra in policies:
            path = f"/meshes/{MESH}/{REGISTRY.get(extra['type']).plural}/{extra['name']}"
            client.put(path, json=extra).raise_for_status()
    us, eu = start_zone(federation, "us-east-1"), start_zone(federation, "eu-west-1")
    ingresses: list[Ingress] = []
    sidecars: list[Sidecar] = []
    apps = {zone: ZoneApp(zone) for zone in ("us-east-1", "eu-west-1")}
    try:
        for zone in (us, eu):
            start_ingress(zone, work, ingresses)
            with zone.cp.client() as client:
                client.put(
                    f"/meshes/{MESH}/meshservices/{SERVICE}", json=flight_control_service()
                ).raise_for_status()
        servers = {
            zone.name: start_sidecar(
                zone,
                work,
                sidecar_dataplane(
                    f"{SERVICE}-{zone.name}", free_port(), apps[zone.name].port, SERVICE, "http"
                ),
                sidecars,
            )
            for zone in (us, eu)
        }
        outbound = free_port()
        client_dp = sidecar_dataplane(
            "web-1", free_port(), free_port(), "web", "http", {outbound: SERVICE}
        )
        client = start_sidecar(us, work, client_dp, sidecars)
        for sidecar in [*servers.values(), client]:
            sidecar.wait_ready()
        url = f"http://127.0.0.1:{outbound}/"
        wait_until(lambda: _answered_by(url) == "us-east-1", 30, "a first local answer")
        wait_until(lambda: _remote_endpoint_known(client), 30, "eu-west-1's ingress at priority 1")
        if KONG_AIR_RETRY in policies:  # the MeshRetry made at global is what the client uses
            routes = client.admin("/config_dump?resource=dynamic_route_configs")
            assert '"per_try_timeout": "1s"' in routes
        if NO_OUTLIER_DETECTION in policies:
            wait_until(
                lambda: "outlier_detection" not in _clusters_of(client), 30, "no outlier detection"
            )

        loads = [Load(url) for _ in range(CLIENTS)]
        threads = [threading.Thread(target=load.run, daemon=True) for load in loads]
        for thread in threads:
            thread.start()
        for load in loads:
            wait_until(lambda load=load: len(load.answers) >= 20, 30, "steady traffic")
        local_answers = sum((load.zones() for load in loads), Counter[str]())
        killed_at = [len(load.answers) for load in loads]
        if crash:  # the host dies: nothing answers any more, the Dataplane stays registered
            servers["us-east-1"].crash()
        else:  # the application dies: its sidecar answers 503s, then stops and deregisters
            apps["us-east-1"].stop()
            servers["us-east-1"].stop()
        for load, since in zip(loads, killed_at, strict=True):
            wait_until(
                lambda load=load, since=since: load.zones(since)["eu-west-1"] >= 50,
                60,
                "answers from eu-west-1",
            )
        for load in loads:
            load.stop()
        for thread in threads:
            thread.join(10)

        assert local_answers == Counter({"us-east-1": local_answers["us-east-1"]})
        failures = [failure for load in loads for failure in load.failures]
        assert failures == []
        last = [answer for load in loads for answer in load.answers[-20:]]
        assert {answer["zone"] for answer in last} == {"eu-west-1"}
        assert all(f"URI=spiffe://{MESH}/web" in (answer["xfcc"] or "") for answer in last)
        # They came through eu-west-1's ingress, which never terminated TLS.
        eu_ingress = ingresses[1]
        assert (
            eu_ingress.stat(f"cluster.ingress_{SERVICE}.upstream_cx_total") > 0
        )  # ":" shown as "_"
        assert eu_ingress.stat("listener.*ssl.handshake") == 0
        answered = sum(len(load.answers) for load in loads)
        print(f"failed requests across the failover: {len(failures)} of {answered}")
    finally:
        for sidecar in sidecars:
            sidecar.stop()
        for ingress in ingresses:
            ingress.process.terminate()
            ingress.process.wait(10)
        for app in apps.values():
            app.server.server_close()


def _answered_by(url: str) -> str | None:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    return str(response.json()["zone"]) if response.status_code == 200 else None


def _clusters_of(client: Sidecar) -> str:
    return client.admin("/config_dump?resource=dynamic_active_clusters")


def _remote_endpoint_known(client: Sidecar) -> bool:
    clusters = json.loads(client.admin("/clusters?format=json"))
    for status in clusters.get("cluster_statuses", []):
        if status["name"] == SERVICE:
            return any(host.get("priority") == 1 for host in status.get("host_statuses", []))
    return False


def flight_control_service() -> dict[str, Any]:
    return {
        "type": "MeshService",
        "mesh": MESH,
        "name": SERVICE,
        "spec": {
            "selector": {"dataplaneTags": {"kuma.io/service": SERVICE}},
            "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "appProtocol": "http"}],
        },
    }
