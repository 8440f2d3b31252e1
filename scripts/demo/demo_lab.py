"""The multi-zone demo's hold on the lab: where things are in the kong-air topology, the
Demo (its processes, control planes, proxies, meshctl and waits) and the steps' headings."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from meshfabric.lab import Lab, LabHost, log_sink, phoenix
from meshfabric.lab.firewall import OTLP_PORT, SYSLOG_PORT
from meshfabric.lab.log_sink import LogSink
from meshfabric.lab.phoenix import Phoenix

REPO = Path(__file__).resolve().parents[2]
GLOBAL = "global/control-plane"
ZONES = ("us-east-1", "eu-west-1")
GLOBAL_ADDRESS = "10.10.0.10"  # global/control-plane in the kong-air topology (docs/lab.md)
LANS = {"us-east-1": "10.10.1", "eu-west-1": "10.10.2"}
MULTIZONE_NAME = "flight-control.mzsvc.mesh.local"  # the default HostnameGenerator's name
MULTIZONE_CLUSTER = "flight-control_mzsvc_8080"  # its cluster in booking's Envoy
ECHO_APP = REPO / "scripts" / "demo" / "echo_app.py"


def step(text: str) -> None:
    print(f"\n\033[1;36m== {text}\033[0m", flush=True)


class Demo:
    def __init__(self, lab: Lab, work: Path) -> None:
        self.lab = lab
        self.work = work
        self.control_planes: dict[str, subprocess.Popen[bytes]] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        # Started first, as Phoenix takes a while; lab.down() ends them.
        self.traces: Phoenix | None = None
        self.logs: LogSink | None = None

    def start_sinks(self) -> None:
        """Phoenix (starting in the background) and rsyslog in global's host."""
        host = self.lab.host(GLOBAL)
        print(f"\033[2m[{GLOBAL}] $ phoenix serve  (OTLP on :{OTLP_PORT}, starting in the "
              "background)\033[0m", flush=True)  # fmt: skip
        self.traces = phoenix.in_lab_host(host, self.work / "phoenix")
        print(f"\033[2m[{GLOBAL}] $ rsyslogd -n  (syslog on {host.address}:{SYSLOG_PORT})\033[0m")
        self.logs = log_sink.in_lab_host(host, self.work / "rsyslog")

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

    def _meshctl_env(self, host: str) -> dict[str, str]:
        return {**os.environ, "MESHCTL_CONFIG": str(self.data_dir(host) / "meshctl.yaml")}

    def xds_socket(self, zone: str) -> Path:
        """Where the zone's proxies reach its control plane: lab hosts share the file system."""
        return self.work / f"{zone}-xds.sock"

    def start(self, key: str, host: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """A process in `host`, its output in <work>/<key>.log."""
        log = (self.work / f"{key}.log").open("ab")
        self.processes[key] = self.lab.host(host).popen(argv, stdout=log, stderr=subprocess.STDOUT)
        return self.processes[key]

    def proxy(self, key: str, host: str, zone: str, token: str, *args: str) -> Path:
        """meshfabric-dp in `host`, served by its zone's control plane; its Envoy's admin socket."""
        directory = self.work / key
        directory.mkdir()
        (directory / "token").write_text(token)
        admin = directory / "admin.sock"
        command = [
            "meshfabric-dp", "run", "--cp-address", f"unix://{self.xds_socket(zone)}",
            "--dataplane-token-file", str(directory / "token"), "--admin-socket", str(admin),
            "--work-dir", str(directory), "--cp-wait-seconds", "30", *args,
        ]  # fmt: skip
        print(f"\033[2m[{host}] $ {shlex.join(command)}\033[0m", flush=True)
        self.start(key, host, command)
        return admin

    def data_dir(self, host: str) -> Path:
        return self.work / host.replace("/", "-")

    def start_control_plane(
        self, host: str, args: Sequence[str], env: dict[str, str] | None = None
    ) -> None:
        data = self.data_dir(host)
        data.mkdir(parents=True, exist_ok=True)
        log = (data / "cp.log").open("ab")
        command = ["meshfabric-cp", "run", "--data-dir", str(data / "cp"), *args]
        print(f"\033[2m[{host}] $ {shlex.join(command)}\033[0m", flush=True)
        env = {**os.environ, "MESHFABRIC_LOG__FORMAT": "text", **(env or {})}
        self.control_planes[host] = self.lab.host(host).popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env
        )
        self.wait(host, partial(self._answers, self.lab.host(host)), "its API to answer")
        self.meshctl(
            host,
            "config", "control-planes", "add", "--name", host.split("/")[0],
            "--address", "http://127.0.0.1:5681",
            "--auth-token-file", str(data / "cp" / "admin-token"),
        )  # fmt: skip

    def _answers(self, host: LabHost) -> bool:
        probe = ["curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:5681/"]
        return host.run(probe, check=False).returncode == 0

    def wait(self, host: str, ready: Callable[[], bool], what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not ready():
            process = self.control_planes.get(host)
            if process is not None and process.poll() is not None:
                log = (self.data_dir(host) / "cp.log").read_text()
                raise SystemExit(f"the control plane in {host} exited:\n{log}")
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

    def _admin_token(self, host: str) -> str:
        return (self.data_dir(host) / "cp" / "admin-token").read_text().strip()

    def holds(self, host: str, plural: str, name: str) -> bool:
        return name in self.names_at(host, plural)

    def has_synced(self, host: str) -> bool:
        """`host` holds flight-control from another zone, under its hashed name."""
        return any(n.startswith("flight-control-") for n in self.names_at(host, "meshservices"))

    def names_at(self, host: str, plural: str) -> set[str]:
        done = self.lab.host(host).run(
            ["curl", "-sf", "-H", f"Authorization: Bearer {self._admin_token(host)}",
             f"http://127.0.0.1:5681/meshes/default/{plural}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            return set()
        return {item["name"] for item in json.loads(done.stdout)["items"]}
