"""Kong Air in the lab, for the cross-zone tests: global, us-east-1 and eu-west-1, each
control plane, ingress, sidecar and app in its own lab host behind the zone firewalls;
flight-control in both zones, and web, its client, in us-east-1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfabric.lab import KONG_AIR, Lab
from meshfabric.lab.call_loop import LOAD
from meshfabric.lab.envoy_admin import endpoint_priorities, is_live
from tests.integration.dataplane.support import permission, sidecar_dataplane
from tests.support.net import wait_until

REPO = Path(__file__).resolve().parents[3]
MESH = "default"
SERVICE = "flight-control"
GLOBAL = "global/control-plane"
ZONES = {"us-east-1": "10.10.1", "eu-west-1": "10.10.2"}  # their LANs (docs/lab.md)
INBOUND_PORT, APP_PORT, OUTBOUND_PORT, INGRESS_PORT = 20001, 8080, 18080, 10001


class Cluster:
    """The processes of the test in the lab's hosts; `lab.down()` ends any left over."""

    def __init__(self, lab: Lab, work: Path) -> None:
        self.lab = lab
        self.work = work
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, key: str, host: str, argv: Sequence[str], **env: str) -> None:
        log = (self.work / f"{key.replace('/', '-')}.log").open("ab")
        self.processes[key] = self.lab.host(host).popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )

    def data(self, host: str) -> Path:
        return self.work / host.replace("/", "-")

    def api(self, host: str, method: str, path: str, body: Any = None) -> str:
        """The REST API of the control plane in `host`, called from inside that host."""
        token = (self.data(host) / "admin-token").read_text().strip()
        command = [
            "curl", "-sf", "-X", method, "-H", f"Authorization: Bearer {token}",
            "-H", "content-type: application/json", f"http://127.0.0.1:5681{path}",
        ]  # fmt: skip
        if body is not None:
            command += ["--data-binary", json.dumps(body)]
        done = self.lab.host(host).run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{method} {path} in {host}: curl exit {done.returncode}")
        return str(done.stdout)

    def answers(self, host: str, path: str) -> bool:
        try:
            self.api(host, "GET", path)
        except (AssertionError, FileNotFoundError):  # not up yet: no admin token written
            return False
        return True

    def control_plane(self, host: str, *args: str, **env: str) -> None:
        data = str(self.data(host))
        command = [sys.executable, "-m", "meshfabric.cp", "run", "--data-dir", data, *args]
        self.start(host, host, command, MESHFABRIC_LOG__FORMAT="text", **env)
        wait_until(lambda: self.answers(host, "/"), 60, f"the control plane in {host}")

    def dp(self, key: str, host: str, zone: str, token: str, *args: str) -> Path:
        directory = self.work / key
        directory.mkdir()
        (directory / "token").write_text(token)
        admin = directory / "admin.sock"
        command = [
            sys.executable, "-m", "meshfabric.dp", "run",
            "--cp-address", f"unix://{self.xds_socket(zone)}",
            "--dataplane-token-file", str(directory / "token"),
            "--admin-socket", str(admin), "--work-dir", str(directory),
            "--cp-wait-seconds", "30", *args,
        ]  # fmt: skip
        self.start(key, host, command)
        return admin

    def xds_socket(self, zone: str) -> Path:
        return self.work / f"{zone}-xds.sock"


def knows_remote_ingress(socket: Path) -> bool:
    """The client's Envoy holds a remote zone's ingress: a priority-1 endpoint of the service."""
    return 1 in endpoint_priorities(socket, SERVICE)


@pytest.fixture
def lab() -> Iterator[Lab]:
    with tempfile.TemporaryDirectory(prefix="mflab-", dir="/tmp") as parent:
        started = Lab.up(KONG_AIR, state_dir=Path(parent) / "state")
        try:
            yield started
        finally:
            started.down()


def federate(lab: Lab, work: Path, mesh: dict[str, Any]) -> Cluster:
    """Global and both zones joined with zone tokens, `mesh` made at global and web allowed to
    call flight-control; each zone has the mesh."""
    cluster = Cluster(lab, work)
    cluster.control_plane(GLOBAL, "--mode", "global", MESHFABRIC_KDS__ADDRESS="10.10.0.10")
    cluster.api(GLOBAL, "PUT", f"/meshes/{MESH}", mesh)
    allow = permission(MESH, "web-to-flight-control", SERVICE, "web")
    cluster.api(GLOBAL, "PUT", f"/meshes/{MESH}/meshtrafficpermissions/{allow['name']}", allow)
    for zone in ZONES:
        token = work / f"{zone}.token"
        token.write_text(cluster.api(GLOBAL, "POST", "/tokens/zone", {"zone": zone}))
        cp = f"{zone}/control-plane"
        cluster.control_plane(
            cp, "--mode", "zone", "--zone", zone,
            "--global-address", "grpcs://10.10.0.10:5685", "--zone-token-file", str(token),
            "--global-ca-file", str(cluster.data(GLOBAL) / "kds-ca.crt"),
            "--xds-unix-socket", str(cluster.xds_socket(zone)),
            # Its metrics on its LAN address: the zone firewall opens them to the monitoring
            # host alone.
            MESHFABRIC_DIAGNOSTICS__ADDRESS="0.0.0.0",
        )  # fmt: skip
        wait_until(partial(cluster.answers, cp, f"/meshes/{MESH}"), 30, f"the mesh in {zone}")
    return cluster


def kong_air_mesh(
    lab: Lab, work: Path, *client_flags: str, generated: bool = False
) -> tuple[Cluster, dict[str, Path]]:
    """The whole mesh started, with the admin socket of each Envoy: `ingress-<zone>`,
    `server-<zone>` (flight-control's sidecar) and `client` (its meshfabric-dp given
    `client_flags` too); every Envoy is live and the client holds eu-west-1's ingress.
    Each zone writes flight-control's MeshService, or with `generated` makes it from the
    Dataplanes (`meshServices.mode: Everywhere`)."""
    mesh = {**MESH_DOCUMENT, "meshServices": {"mode": "Everywhere"}} if generated else None
    cluster = federate(lab, work, mesh or MESH_DOCUMENT)
    for zone in ZONES:
        if not generated:
            cp = f"{zone}/control-plane"
            cluster.api(cp, "PUT", f"/meshes/{MESH}/meshservices/{SERVICE}", FLIGHT_CONTROL)

    admins = {}
    for zone, lan in ZONES.items():
        cp = f"{zone}/control-plane"
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
    web = sidecar_dataplane("web-1", INBOUND_PORT, 8081, "web", "http", {OUTBOUND_PORT: SERVICE})
    web["networking"]["address"] = "10.10.1.14"
    admins["client"] = cluster.dp(
        "client", "us-east-1/client-1", "us-east-1",
        dataplane_token(cluster, "us-east-1/control-plane", "web"),
        "--dataplane", yaml.safe_dump(web), *client_flags,
    )  # fmt: skip
    for name, socket in admins.items():
        wait_until(partial(is_live, socket), 60, f"the Envoy of {name}")
    wait_until(lambda: knows_remote_ingress(admins["client"]), 60, "eu-west-1's ingress")
    return cluster, admins


def start_load(
    cluster: Cluster, work: Path, url: str = f"http://127.0.0.1:{OUTBOUND_PORT}/"
) -> tuple[Path, Path]:
    """The client calling flight-control in a loop, by default through its outbound port:
    (its log of answers, its stop file)."""
    out, stop = work / "load.jsonl", work / "stop"
    cluster.start(
        "load", "us-east-1/client-1", [sys.executable, "-c", LOAD, url, str(out), str(stop)]
    )
    return out, stop


def start_instance(cluster: Cluster, zone: str, suffix: str) -> Path:
    """flight-control and its sidecar in the zone's flight-control-1 host."""
    host, cp = f"{zone}/flight-control-1", f"{zone}/control-plane"
    app = [sys.executable, str(REPO / "scripts" / "demo" / "echo_app.py"), str(APP_PORT), zone]
    cluster.start(f"app-{zone}", host, app)
    server = sidecar_dataplane(f"{SERVICE}-1", INBOUND_PORT, APP_PORT, SERVICE, "http")
    server["networking"]["address"] = f"{ZONES[zone]}.13"
    return cluster.dp(
        f"server-{zone}{suffix}", host, zone, dataplane_token(cluster, cp, SERVICE),
        "--dataplane", yaml.safe_dump(server),
    )  # fmt: skip


def kill_instance(cluster: Cluster, zone: str) -> None:
    """flight-control dies in the zone (its app SIGKILLed), then its sidecar stops and
    deregisters (the name is free again for `start_instance`)."""
    cluster.processes[f"app-{zone}"].kill()
    cluster.processes[f"server-{zone}"].send_signal(signal.SIGTERM)
    cluster.processes[f"server-{zone}"].wait(10)


def dataplane_token(cluster: Cluster, cp: str, service: str) -> str:
    request = {"mesh": MESH, "tags": {"kuma.io/service": [service]}}
    return cluster.api(cp, "POST", "/tokens/dataplane", request)


MESH_DOCUMENT = {
    "type": "Mesh",
    "name": MESH,
    "mtls": {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]},
}
FLIGHT_CONTROL = {
    "type": "MeshService",
    "mesh": MESH,
    "name": SERVICE,
    "spec": {
        "selector": {"dataplaneTags": {"kuma.io/service": SERVICE}},
        "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "appProtocol": "http"}],
    },
}
