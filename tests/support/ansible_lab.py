"""The collection's playbooks on a meshfabric-lab, as onto real machines: the lab's hosts
reached over SSH with its inventory, site.yml, upgrade.yml and teardown.yml run from a copy
beside it. Shared by tests/integration/ansible and bench/ansible_bench.py.

The lab's hosts share the machine's file system, so each host gets its own directories (as
separate machines would have) through group_vars next to the inventory.

The whole mesh (`MESH_HOSTS`, deployed by one site.yml run with `CrossZone.host_vars`):
global, both zones' control planes, ingresses and egresses, flight-control in both zones
behind sidecars, and the client in us-east-1 calling it through its own sidecar, answered by
both zones (`localityAwareness.disabled`), over mTLS through the zones' ingresses. The mesh
and its policies come with site.yml too, as a user's inventory gives them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshfabric.lab import Lab
from meshfabric.lab.call_loop import LOAD, calls
from tests.integration.lab.support import lab_cli, state_dir
from tests.support.net import wait_until

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COLLECTION_PATHS = ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "COLLECTION.md")
GLOBAL_CONTROL_PLANE = "control-plane.global"
INBOUND: dict[str, Any] = {
    "port": 20001, "servicePort": 8080, "tags": {"kuma.io/service": "flight-control"}
}  # fmt: skip


def copy_collection(root: Path) -> Path:
    """This tree's collection as `root/ansible_collections/meshfabric/mesh`, for
    ANSIBLE_COLLECTIONS_PATH=root: neither an installed copy nor one in ~/.ansible shadows it."""
    dest = root / "ansible_collections" / "meshfabric" / "mesh"
    dest.mkdir(parents=True)
    for name in COLLECTION_PATHS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, dest / name)
    return root


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
    "zone_egress_venv_dir": "{{ lab_host_root }}/opt/zone-egress",
    "zone_egress_config_dir": "{{ lab_host_root }}/etc/zone-egress",
    "zone_egress_work_dir": "{{ lab_host_root }}/var/lib/zone-egress",
    "zone_egress_supervisor_dir": "{{ lab_host_root }}/etc/supervisor",
    "zone_egress_system_user": "root",
    "zone_egress_system_group": "root",
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
        return self.playbook("site.yml", *args)

    def playbook(self, name: str, *args: str) -> Run:
        """One of the collection's playbooks, run from the copy beside the inventory."""
        command = [str(BIN / "ansible-playbook"), "-i", str(self.work / "inventory"),
                   str(self.work / "playbooks" / name), *args]  # fmt: skip
        done = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=2400, check=False
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

    def put(self, host: str, path: str, body: dict[str, Any]) -> None:
        """PUT `body` at path on the control plane on `host`, from inside that host."""
        token = self.work / "playbooks" / "credentials" / host / "admin-token"
        done = self.lab.host(self.lab_key(host)).run(
            ["curl", "-sf", "-X", "PUT", "-H", f"Authorization: Bearer {token.read_text().strip()}",
             "-H", "content-type: application/json", "--data-binary", json.dumps(body),
             f"http://127.0.0.1:5681{path}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"PUT {path}: curl exit {done.returncode} {done.stdout}"

    def installed_version(self, host: str, venv: str) -> str:
        """The meshfabric version in the virtualenv `venv` (opt/...) of `host`.

        Asked in isolated mode (-I): the PYTHONPATH a checkout's tests run with would otherwise
        lead to the checkout's own meshfabric.egg-info, whatever the virtualenv holds."""
        python = self.hosts_dir / host / venv / "bin" / "python"
        done = subprocess.run(
            [str(python), "-I", "-c",
             "import importlib.metadata as m; print(m.version('meshfabric'))"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    def host_vars(self, host: str, variables: dict[str, Any]) -> None:
        (self.work / "inventory" / "host_vars" / f"{host}.yml").write_text(
            yaml.safe_dump(variables)
        )

    @staticmethod
    def lab_key(inventory_name: str) -> str:
        name, zone = inventory_name.split(".", 1)
        return f"{zone}/{name}"


@contextmanager
def lab_deployment(collections: Path, work: Path) -> Iterator[Deployment]:
    """A kong-air lab with its inventory and group_vars in `work`, taken down on exit."""
    # The playbooks are run from a copy beside the inventory, as a user runs the
    # collection's playbooks; credentials/ and wheelhouse/ land next to them.
    shutil.copytree(REPO / "playbooks", work / "playbooks")
    hosts_dir = work / "hosts"
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_PIPELINING": "1",
        # site.yml deploys the proxies and telemetry side by side: every host at once.
        "ANSIBLE_FORKS": "16",
        "ANSIBLE_NOCOLOR": "1",
    }
    with state_dir() as state:
        lab_cli("up", "--topology", "kong-air", "--state-dir", str(state))
        try:
            inventory = work / "inventory"
            (inventory / "group_vars").mkdir(parents=True)
            (inventory / "host_vars").mkdir()
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
                "zone_egress_wheelhouse_dir": str(work / "wheelhouse"),
            }
            (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars))
            yield Deployment(Lab.open(state), work, hosts_dir, env)
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
