"""The collection's playbooks on a meshfabric-lab (`meshfabric.lab.playbooks`) as the
collection's integration tests and bench/ansible_bench.py use them.

The whole mesh (`MESH_HOSTS`, deployed by one site.yml run with `CrossZone.host_vars`):
global, both zones' control planes, ingresses and egresses, flight-control in both zones
behind sidecars, and the client in us-east-1 calling it through its own sidecar, answered by
both zones (`localityAwareness.disabled`), over mTLS through the zones' ingresses. The mesh
and its policies come with site.yml too, as a user's inventory gives them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from meshfabric.lab import Lab, playbooks
from meshfabric.lab.call_loop import LOAD, calls
from meshfabric.lab.playbooks import BIN, GLOBAL_CONTROL_PLANE, INBOUND, Deployment, Run
from tests.integration.lab.support import lab_cli, state_dir
from tests.support.net import wait_until

# For the tests and the bench that import them from here.
__all__ = ["BIN", "GLOBAL_CONTROL_PLANE", "INBOUND", "Deployment", "Run"]

REPO = Path(__file__).resolve().parents[2]


def copy_collection(root: Path) -> Path:
    """This tree's collection under `root`, for ANSIBLE_COLLECTIONS_PATH=root."""
    return playbooks.copy_collection(REPO, root)


@contextmanager
def lab_deployment(collections: Path, work: Path) -> Iterator[Deployment]:
    """A kong-air lab with this tree's playbooks, inventory and group_vars in `work`, taken
    down on exit."""
    with state_dir() as state:
        lab_cli("up", "--topology", "kong-air", "--state-dir", str(state))
        try:
            yield playbooks.deploy_from(REPO, Lab.open(state), collections, work)
        finally:
            lab_cli("down", "--state-dir", str(state))


def zone_online(deployment: Deployment, zone: str) -> bool:
    """Whether global sees the zone's control plane connected (its newest KDS subscription)."""
    overview = deployment.api(GLOBAL_CONTROL_PLANE, "/zones/_overview")
    for item in overview["items"]:
        if item["name"] == zone:
            subscriptions = item.get("zoneInsight", {}).get("subscriptions", [])
            return bool(subscriptions) and "disconnectTime" not in subscriptions[-1]
    return False


def build_wheel(wheelhouse: Path, local_version: str, work: Path) -> str:
    """This tree's meshfabric built into the wheelhouse at its version plus `+local_version`,
    so that an upgrade has a real version to go to; the version."""
    current = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    version = f"{current}+{local_version}"
    source = work / f"meshfabric-{version}"
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "README.md", source / "README.md")
    pyproject = (REPO / "pyproject.toml").read_text()
    (source / "pyproject.toml").write_text(
        pyproject.replace(f'\nversion = "{current}"\n', f'\nversion = "{version}"\n', 1)
    )
    pip_wheel(source, wheelhouse, "--no-deps", "--no-build-isolation")
    return version


def pip_wheel(source: Path, wheelhouse: Path, *options: str) -> None:
    """`pip wheel` of `source` into the wheelhouse, reproducibly, with setuptools' build
    directories outside the source tree, as the control_plane role builds: builds from one
    tree at once would collide in its build/."""
    with tempfile.TemporaryDirectory(prefix="meshfabric-build-") as build:
        config = Path(build) / "build.cfg"
        config.write_text(f"[build]\nbuild_base = {build}/build\n[egg_info]\negg_base = {build}\n")
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", *options,
             "--wheel-dir", str(wheelhouse), str(source)],
            check=True, timeout=900,
            env={**os.environ, "SOURCE_DATE_EPOCH": "315532800", "DIST_EXTRA_CONFIG": str(config)},
        )  # fmt: skip


# flight-control in both zones, and its client in us-east-1 (the lab's client-1 host).
SERVERS = {"us-east-1": "flight-control-1.us-east-1", "eu-west-1": "flight-control-1.eu-west-1"}
CLIENT = "client-1.us-east-1"
CLIENT_OUTBOUND_PORT = 18080
HTTP_INBOUND = {**INBOUND, "tags": {**INBOUND["tags"], "kuma.io/protocol": "http"}}
CLIENT_VARS = {
    "dataplane_inbounds": [
        {"port": 20001, "servicePort": 8081,
         "tags": {"kuma.io/service": "web", "kuma.io/protocol": "http"}},
    ],
    "dataplane_outbounds": [
        {"port": CLIENT_OUTBOUND_PORT, "tags": {"kuma.io/service": "flight-control"}},
    ],
}  # fmt: skip
MESH = {
    "type": "Mesh",
    "name": "default",
    # Zones reach each other's services through ingresses that pass mTLS through.
    "mtls": {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]},
    "meshServices": {"mode": "Everywhere"},
}
POLICIES = (
    {
        "type": "MeshTrafficPermission",
        "mesh": "default",
        "name": "web-to-flight-control",
        "spec": {
            "targetRef": {"kind": "MeshService", "name": "flight-control"},
            "from": [
                {"targetRef": {"kind": "MeshService", "name": "web"},
                 "default": {"action": "Allow"}},
            ],
        },
    },
    # Both zones answer the client, not only its own: traffic crosses zones all along.
    {
        "type": "MeshLoadBalancingStrategy",
        "mesh": "default",
        "name": "flight-control-in-both-zones",
        "spec": {
            "to": [
                {"targetRef": {"kind": "MeshService", "name": "flight-control"},
                 "default": {"localityAwareness": {"disabled": True}}},
            ],
        },
    },
)  # fmt: skip
CROSS_ZONE_HOSTS = (CLIENT, *SERVERS.values())
ZONES = tuple(SERVERS)
ZONE_CONTROL_PLANES = tuple(f"control-plane.{zone}" for zone in ZONES)
INGRESSES = tuple(f"ingress.{zone}" for zone in ZONES)
EGRESSES = tuple(f"egress.{zone}" for zone in ZONES)
# Every lab host but eu-west-1's second flight-control, which stays a machine with nothing on it.
MESH_HOSTS = (GLOBAL_CONTROL_PLANE, *ZONE_CONTROL_PLANES, *INGRESSES, *EGRESSES, *CROSS_ZONE_HOSTS)


class CrossZone:
    """flight-control's apps started in its hosts and the client's calls, one JSON line each."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.processes: list[subprocess.Popen[bytes]] = []
        self.answers = deployment.work / "answers.jsonl"
        self.stop_file = deployment.work / "stop-calling"

    @staticmethod
    def host_vars(deployment: Deployment) -> None:
        """What site.yml is to make besides the defaults: the mesh with mTLS and, from a policy
        directory, the permission and the strategy (on global's host); the sidecars' HTTP
        inbounds (so that they retry) and the client's outbound."""
        policies = deployment.work / "policies"
        policies.mkdir(exist_ok=True)
        (policies / "flight-control.yaml").write_text(yaml.safe_dump_all(POLICIES, sort_keys=False))
        deployment.host_vars(
            GLOBAL_CONTROL_PLANE,
            {"meshfabric_meshes": [MESH], "meshfabric_policies_dir": str(policies)},
        )
        for host in SERVERS.values():
            deployment.host_vars(host, {"dataplane_inbounds": [HTTP_INBOUND]})
        deployment.host_vars(CLIENT, CLIENT_VARS)

    def start(self) -> None:
        """The apps started; returns once both zones answer the client."""
        self.start_apps()
        self.start_calls()
        wait_until(
            lambda: zones_answering(self.calls()) == set(SERVERS), 120, "answers from both zones"
        )
        self.stop_calls()

    def start_apps(self) -> None:
        echo = str(REPO / "scripts" / "demo" / "echo_app.py")
        for zone, host in SERVERS.items():
            argv = [sys.executable, echo, str(INBOUND["servicePort"]), zone]
            self.processes.append(self._popen(host, argv))

    def start_calls(self) -> None:
        """The client calls flight-control through its sidecar in a loop until `stop_calls`."""
        self.stop_file.unlink(missing_ok=True)
        self.answers.unlink(missing_ok=True)
        url = f"http://127.0.0.1:{CLIENT_OUTBOUND_PORT}/"
        argv = [sys.executable, "-c", LOAD, url, str(self.answers), str(self.stop_file)]
        self.processes.append(self._popen(CLIENT, argv))

    def calls(self) -> list[dict[str, Any]]:
        return calls(self.answers)

    def stop_calls(self) -> list[dict[str, Any]]:
        self.stop_file.touch()
        self.processes[-1].wait(timeout=30)
        return self.calls()

    def stop(self) -> None:
        """End every process this started, by its PID."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)

    def _popen(self, host: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.deployment.work / f"{host}.log").open("ab")
        return self.deployment.lab.host(Deployment.lab_key(host)).popen(
            argv, stdout=log, stderr=subprocess.STDOUT
        )


def failed(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [answer for answer in answers if "error" in answer]


def zones_answering(answers: list[dict[str, Any]]) -> set[str]:
    return {str(answer["service"]) for answer in answers if "service" in answer}
