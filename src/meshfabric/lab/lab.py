"""The lab: `Lab.up` builds a topology in network namespaces, `Lab.open` attaches to one that is
up, `down` removes it. `lab.host("us-east-1/client-1").popen([...])` runs a program there.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from meshfabric.lab import network, ssh
from meshfabric.lab.firewall import router_ruleset
from meshfabric.lab.state import STATE_FILE, LabState, ProcessRecord, load, save, stop
from meshfabric.lab.topology import (
    ROUTER,
    LabError,
    Plan,
    PlannedHost,
    Topology,
    namespace_prefix,
    plan,
)

DEFAULT_STATE_DIR = Path("/run/meshfabric-lab")
CLIENT_KEY = "client_key"
KNOWN_HOSTS = "known_hosts"
SSH_CONFIG = "ssh_config"
_HOSTS_DIR = "hosts"
_SSH_CONTROL_DIR = "ssh-control"
# How many times down stops what is left in the namespaces before giving up on it.
_STOP_ROUNDS = 5
# Tool -> the Debian package that provides it.
_REQUIRED_TOOLS = {
    "ip": "iproute2",
    "nft": "nftables",
    ssh.SSHD: "openssh-server",
    "nc": "netcat-openbsd",
}
# What starts a program, with Popen's arguments: subprocess.Popen, or a LabHost's popen.
Start = Callable[..., "subprocess.Popen[Any]"]


class LabHost:
    """One host of a running lab: its facts, and a way to run programs in its namespace."""

    def __init__(self, planned: PlannedHost) -> None:
        self.planned = planned

    @property
    def key(self) -> str:
        return self.planned.key

    @property
    def address(self) -> str:
        return str(self.planned.address)

    @property
    def namespace(self) -> str:
        return self.planned.namespace

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv` wrapped to run inside this host's network namespace."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start `argv` in this host (keyword arguments go to subprocess.Popen). `down` ends it
        with everything else running in the lab's namespaces."""
        return subprocess.Popen(self.command(argv), **kwargs)

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run `argv` in this host to completion (keyword arguments go to subprocess.run)."""
        return subprocess.run(self.command(argv), **kwargs)


class Lab:
    def __init__(self, state_dir: Path, state: LabState) -> None:
        self.state_dir = state_dir
        self._state = state

    @property
    def plan(self) -> Plan:
        return self._state.plan

    @property
    def hosts(self) -> list[LabHost]:
        return [LabHost(planned) for planned in self.plan.hosts]

    @property
    def client_key(self) -> Path:
        return self.state_dir / CLIENT_KEY

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / KNOWN_HOSTS

    @property
    def ssh_config(self) -> Path:
        """For `ssh -F`: every host by its inventory name (`ssh -F ... client-1.us-east-1`)."""
        return self.state_dir / SSH_CONFIG

    def sshd_running(self, key: str) -> bool:
        return any(
            process.alive()
            for process in self._state.processes
            if process.host == key and process.program == "sshd"
        )

    @property
    def ssh_control_dir(self) -> Path:
        return self.state_dir / _SSH_CONTROL_DIR

    def host(self, key: str) -> LabHost:
        """`zone/name`, as in `us-east-1/flight-control-1`."""
        for host in self.hosts:
            if host.key == key:
                return host
        known = ", ".join(host.key for host in self.hosts)
        raise LabError(f"host: no host {key!r} in this lab (hosts: {known})")

    @classmethod
    def open(cls, state_dir: Path = DEFAULT_STATE_DIR) -> Lab:
        return cls(state_dir, load(state_dir))

    @classmethod
    def up(cls, topology: Topology, state_dir: Path = DEFAULT_STATE_DIR) -> Lab:
        """Build `topology`; on any failure remove everything built so far and raise."""
        _require_root_and_tools()
        lab_plan = plan(topology, secrets.token_hex(2))
        lab = cls(state_dir, LabState(lab_plan, created_directory=_claim(state_dir)))
        try:
            lab._build()
        except BaseException:
            lab.down()
            raise
        return lab

    def _build(self) -> None:
        save(self.state_dir, self._state)
        network.require_absent(self.plan.namespaces)
        for namespace in self.plan.namespaces:
            self._state.namespaces.append(namespace)
            save(self.state_dir, self._state)
            network.create_namespace(namespace)
        network.build_fabric(self.plan)
        for zone in self.plan.zones:
            ruleset = self._host_dir(f"{ROUTER}.{zone.name}") / "ruleset.nft"
            ruleset.write_text(router_ruleset(zone, self.plan))
            network.build_router(self.plan, zone, ruleset)
            for number in range(len(zone.hosts)):
                network.build_host(self.plan, zone, number)
        self._start_sshds()

    def _host_dir(self, name: str) -> Path:
        directory = self.state_dir / _HOSTS_DIR / name
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def _start_sshds(self) -> None:
        ssh.generate_key(self.client_key, f"meshfabric-lab-{self.plan.lab_id}")
        self.ssh_control_dir.mkdir(mode=0o700, exist_ok=True)
        authorized = self.client_key.with_name(CLIENT_KEY + ".pub")
        started = []
        known_hosts = []
        for host in self.plan.hosts:
            directory = self._host_dir(host.inventory_name)
            host_key = directory / "ssh_host_ed25519_key"
            known_hosts.append(
                ssh.known_hosts_line(host, ssh.generate_key(host_key, host.inventory_name))
            )
            config = directory / "sshd_config"
            config.write_text(ssh.sshd_config(host, host_key, authorized))
            log = directory / "sshd.log"
            process = ssh.start_sshd(host, config, log)
            self._state.processes.append(ProcessRecord.of(process.pid, "sshd", host.key))
            save(self.state_dir, self._state)
            started.append((process, host, log))
        self.known_hosts.write_text("".join(known_hosts))
        self.ssh_config.write_text(
            ssh.client_config(self.plan.hosts, self.client_key, self.known_hosts)
        )
        # Started all at once, then waited for: the hosts' sshds come up in parallel.
        for process, host, log in started:
            ssh.wait_listening(process, host, log)

    def down(self) -> None:
        """Stop every process in the lab's namespaces (recorded or not), delete the namespaces
        (and with them every bridge, veth and nftables rule), then the state directory."""
        recorded = [process.pid for process in self._state.processes if process.alive()]
        # A supervisor in a host (the collection's roles run supervisord) may start a program
        # again while both are being stopped: stop what the namespaces hold until it is none.
        for _ in range(_STOP_ROUNDS):
            in_namespaces = [
                pid
                for namespace in self._state.namespaces
                for pid in network.namespace_pids(namespace)
            ]
            pids = sorted(set(recorded + in_namespaces) - {os.getpid()})
            if not pids:
                break
            stop(pids)
            recorded = []
        for namespace in reversed(self._state.namespaces):
            network.remove_namespace(namespace)
        leftover = network.lab_namespaces(namespace_prefix(self.plan.lab_id))
        if leftover:
            raise LabError(f"down: namespaces still present: {', '.join(leftover)}")
        self._remove_state_dir()

    def _remove_state_dir(self) -> None:
        for name in (_HOSTS_DIR, _SSH_CONTROL_DIR):
            shutil.rmtree(self.state_dir / name, ignore_errors=True)
        for name in (CLIENT_KEY, CLIENT_KEY + ".pub", KNOWN_HOSTS, SSH_CONFIG, STATE_FILE):
            (self.state_dir / name).unlink(missing_ok=True)
        if self._state.created_directory:
            with contextlib.suppress(OSError):
                self.state_dir.rmdir()


def _claim(state_dir: Path) -> bool:
    """Make `state_dir` ours; True if we created it. A directory holding a lab is refused."""
    if (state_dir / STATE_FILE).exists():
        raise LabError(
            f"--state-dir: a lab is already up in {state_dir}; run `meshfabric-lab down` first "
            "or choose another state directory"
        )
    created = not state_dir.exists()
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return created


def _require_root_and_tools() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab creates network namespaces and needs root")
    missing = [
        f"{tool} (Debian package {package})"
        for tool, package in _REQUIRED_TOOLS.items()
        if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None
    ]
    if missing:
        raise LabError(
            f"missing tools: {', '.join(missing)}; run scripts/install-system-packages.sh"
        )
