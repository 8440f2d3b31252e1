"""The multi-zone demo's hold on the lab: where things are in the kong-air topology, the
Demo (the mesh deployed with the collection's site.yml, its apps, meshctl and waits) and the
steps' headings."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from meshfabric.lab import phoenix
from meshfabric.lab.envoy_admin import LoopbackAdmin
from meshfabric.lab.firewall import OTLP_PORT
from meshfabric.lab.phoenix import Phoenix
from meshfabric.lab.playbooks import Deployment

REPO = Path(__file__).resolve().parents[2]
GLOBAL = "global/control-plane"
ZONES = ("us-east-1", "eu-west-1")
GLOBAL_ADDRESS = "10.10.0.10"  # global/control-plane in the kong-air topology (docs/lab.md)
MULTIZONE_NAME = "flight-control.mzsvc.mesh.local"  # the default HostnameGenerator's name
MULTIZONE_CLUSTER = "flight-control_mzsvc_8080"  # its cluster in booking's Envoy
ECHO_APP = REPO / "scripts" / "demo" / "echo_app.py"
KONG_AIR = REPO / "examples" / "kong-air"
# eu-west-1's second flight-control host stays a machine with nothing on it.
LIMIT = "!flight-control-2.eu-west-1"
ADMIN_PORT = 9901  # every proxy's Envoy admin port, on its host's loopback (the roles' default)
CONTROL_PLANE_PROGRAM = "meshfabric-control-plane"  # the control_plane role's program


def step(text: str) -> None:
    print(f"\n\033[1;36m== {text}\033[0m", flush=True)


def inventory_name(key: str) -> str:
    """`us-east-1/control-plane` as the lab's inventory names it: `control-plane.us-east-1`."""
    zone, name = key.split("/")
    return f"{name}.{zone}"


def sidecar_program(name: str) -> str:
    """The dataplane role's supervisord program for the sidecar `name`."""
    return f"meshfabric-dp-{name}"


def http_inbound(port: int, service: str) -> dict[str, Any]:
    tags = {"kuma.io/service": service, "kuma.io/protocol": "http"}
    return {"port": 20001, "servicePort": port, "tags": tags}


class Demo:
    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.lab = deployment.lab
        self.work = deployment.work
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.frozen: list[int] = []
        # Started first, as Phoenix takes a while; lab.down() ends it.
        self.traces: Phoenix | None = None

    def start_traces(self) -> None:
        """Phoenix in global's host, starting in the background (no role installs it)."""
        host = self.lab.host(GLOBAL)
        print(f"\033[2m[{GLOBAL}] $ phoenix serve  (OTLP on :{OTLP_PORT}, starting in the "
              "background)\033[0m", flush=True)  # fmt: skip
        self.traces = phoenix.in_lab_host(host, self.work / "phoenix")

    def write_host_vars(self) -> None:
        """What site.yml is to make besides the roles' defaults: Kong Air's mesh and policies
        at global; flight-control's sidecar in each zone; booking's in us-east-1, resolving
        the mesh's names itself (VIPs, its DNS, redirected)."""
        policies = self.work / "policies"
        policies.mkdir()
        (policies / "20-policies.yaml").write_text((KONG_AIR / "20-policies.yaml").read_text())
        mesh = yaml.safe_load((KONG_AIR / "00-mesh.yaml").read_text())
        self.deployment.host_vars(
            inventory_name(GLOBAL),
            {"meshfabric_meshes": [mesh], "meshfabric_policies_dir": str(policies)},
        )
        for zone in ZONES:
            self.deployment.host_vars(
                f"flight-control-1.{zone}",
                {"dataplane_name": "flight-control-1",
                 "dataplane_inbounds": [http_inbound(8080, "flight-control")]},
            )  # fmt: skip
        self.deployment.host_vars(
            "client-1.us-east-1",
            {"dataplane_name": "booking-1", "dataplane_inbounds": [http_inbound(8081, "booking")],
             "dataplane_vips": True, "dataplane_redirect_dns": True,
             "dataplane_dns_address": "127.0.0.1:15053"},
        )  # fmt: skip

    def site(self) -> None:
        """site.yml over SSH, each play shown as it starts, then the recap; all it printed in
        <work>/site.log, and its end on screen if it fails."""
        command = self.deployment.command("site.yml", "--limit", LIMIT)
        shown = shlex.join(["ansible-playbook", *command[1:]]).replace(f"{self.work}/", "")
        print(f"\033[2m(in {self.work}) $ {shown}\033[0m", flush=True)
        env = {**self.deployment.env, "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}
        started = time.monotonic()
        recap = False
        with (self.work / "site.log").open("w") as log:
            run = subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            assert run.stdout is not None
            for line in run.stdout:
                log.write(line)
                recap = recap or line.startswith("PLAY RECAP")
                if recap or line.startswith(("PLAY [", "fatal:", "failed:", "ERROR")):
                    elapsed = f"{time.monotonic() - started:5.0f} s  " if not recap else ""
                    print(f"{elapsed}{line.rstrip()}", flush=True)
        if run.wait() != 0:
            # The work directory goes with the demo: show the end of what it printed.
            tail = Path(log.name).read_text().splitlines()[-60:]
            raise SystemExit("\n".join([*tail, f"site.yml failed (exit {run.returncode})"]))
        print(f"the whole mesh deployed in {time.monotonic() - started:.0f} s", flush=True)

    def meshctl(self, host: str, *args: str, stdin: str | None = None, secret: bool = False) -> str:
        """Run meshctl in `host` against its own control plane, showing the command and,
        unless it is a secret, what it printed."""
        print(f"\033[2m[{host}] $ meshctl {shlex.join(args)}\033[0m", flush=True)
        done = self.lab.host(host).run(
            ["meshctl", *args],
            env=self._meshctl_env(host),
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"meshctl failed in {host}: {done.stderr}")
        print("(a token, not shown)" if secret else done.stdout.rstrip(), flush=True)
        return str(done.stdout)

    def point_meshctl(self, host: str) -> None:
        """meshctl in `host` pointed at its control plane, with the admin token its role
        fetched back to the controller."""
        self.meshctl(
            host,
            "config", "control-planes", "add", "--name", host.split("/")[0],
            "--address", "http://127.0.0.1:5681",
            "--auth-token-file", str(self._admin_token_file(host)),
        )  # fmt: skip

    def _meshctl_env(self, host: str) -> dict[str, str]:
        config = self.work / "meshctl" / f"{inventory_name(host)}.yaml"
        return {**os.environ, "MESHCTL_CONFIG": str(config)}

    def _admin_token_file(self, host: str) -> Path:
        return self.deployment.credential(inventory_name(host), "admin-token")

    def start(self, key: str, host: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """A process in `host`, its output in <work>/<key>.log."""
        log = (self.work / f"{key}.log").open("ab")
        self.processes[key] = self.lab.host(host).popen(argv, stdout=log, stderr=subprocess.STDOUT)
        return self.processes[key]

    def supervisorctl(self, host: str, *args: str) -> str:
        """supervisorctl of the roles' supervisord in `host`, shown as it runs."""
        print(f"\033[2m[{host}] $ supervisorctl {shlex.join(args)}\033[0m", flush=True)
        answer = self.deployment.supervisorctl(inventory_name(host), *args)
        print(answer, flush=True)
        return answer

    def admin(self, host: str) -> LoopbackAdmin:
        """The Envoy admin interface of the proxy in `host`."""
        return LoopbackAdmin(self.lab.host(host), ADMIN_PORT)

    def freeze(self, host: str) -> int:
        """SIGSTOP to the control plane in `host`; its PID, for `thaw`."""
        pid = int(self.deployment.supervisorctl(inventory_name(host), "pid", CONTROL_PLANE_PROGRAM))
        self.frozen.append(pid)
        os.kill(pid, signal.SIGSTOP)
        return pid

    def thaw(self) -> None:
        """SIGCONT to every frozen process: a stopped process cannot act on SIGTERM."""
        for pid in self.frozen:
            os.kill(pid, signal.SIGCONT)
        self.frozen.clear()

    def access_log(self) -> Path:
        """Where the telemetry role's rsyslog in global's host writes the lines it receives."""
        return self._global_root() / "var" / "log" / "meshfabric" / "access.log"

    def dashboards(self) -> Path:
        """Where the telemetry role put the Grafana dashboards in global's host."""
        return self._global_root() / "var" / "lib" / "grafana" / "dashboards"

    def _global_root(self) -> Path:
        return self.deployment.host_root(inventory_name(GLOBAL))

    def wait(self, host: str, ready: Callable[[], bool], what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not ready():
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up waiting for {what} in {host}")
            time.sleep(0.2)

    def in_state(self, zone: str, state: str) -> bool:
        return self.zone_state(zone) == state

    def zone_state(self, zone: str) -> str:
        """`online` or `offline`, as global's zone overview says."""
        done = self.lab.host(GLOBAL).run(
            ["meshctl", "inspect", "zones", "-o", "json"],
            env=self._meshctl_env(GLOBAL),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return "unknown"
        for overview in json.loads(done.stdout):
            if overview["name"] == zone:
                subscriptions = overview["zoneInsight"].get("subscriptions") or []
                last = subscriptions[-1] if subscriptions else {"disconnectTime": "never"}
                return "offline" if last.get("disconnectTime") else "online"
        return "unknown"

    def holds(self, host: str, plural: str, name: str) -> bool:
        return name in self.names_at(host, plural)

    def has_synced(self, host: str) -> bool:
        """`host` holds flight-control from another zone, under its hashed name."""
        return any(n.startswith("flight-control-") for n in self.names_at(host, "meshservices"))

    def names_at(self, host: str, plural: str) -> set[str]:
        token = self._admin_token_file(host).read_text().strip()
        done = self.lab.host(host).run(
            ["curl", "-sf", "-H", f"Authorization: Bearer {token}",
             f"http://127.0.0.1:5681/meshes/default/{plural}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            return set()
        return {item["name"] for item in json.loads(done.stdout)["items"]}
