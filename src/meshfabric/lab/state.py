"""What `up` made, written down before it is made, so `down` removes exactly that.

The state file is rewritten before each namespace is created and after each process starts:
an `up` that dies half-way still leaves a record `down` can act on.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from meshfabric.lab.topology import LabError, Plan, PlannedHost, PlannedZone, Role

STATE_FILE = "state.json"
_STOP_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class ProcessRecord:
    """A process the lab started in `host`; `start_time` tells it from a later process that
    reused its PID."""

    pid: int
    start_time: int
    program: str
    host: str

    @classmethod
    def of(cls, pid: int, program: str, host: str) -> ProcessRecord:
        start_time = process_start_time(pid)
        if start_time is None:
            raise LabError(f"{program} in {host} (pid {pid}) exited right after it started")
        return cls(pid, start_time, program, host)

    @property
    def what(self) -> str:
        return f"{self.program} in {self.host}"

    def alive(self) -> bool:
        return process_start_time(self.pid) == self.start_time


@dataclass
class LabState:
    plan: Plan
    namespaces: list[str] = field(default_factory=list)
    processes: list[ProcessRecord] = field(default_factory=list)
    created_directory: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": _plan_to_json(self.plan),
            "namespaces": self.namespaces,
            "processes": [asdict(process) for process in self.processes],
            "created_directory": self.created_directory,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabState:
        return cls(
            _plan_from_json(data["plan"]),
            list(data["namespaces"]),
            [ProcessRecord(**process) for process in data["processes"]],
            bool(data["created_directory"]),
        )


def save(state_dir: Path, state: LabState) -> None:
    """Write atomically: a reader never sees half a file."""
    partial = state_dir / (STATE_FILE + ".partial")
    partial.write_text(json.dumps(state.to_json(), indent=2) + "\n")
    partial.replace(state_dir / STATE_FILE)


def load(state_dir: Path) -> LabState:
    path = state_dir / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LabError(
            f"no lab is up with state directory {state_dir} ({path} is missing)"
        ) from None
    except (OSError, ValueError) as error:
        raise LabError(f"{path}: cannot read the lab's state: {error}") from None
    return LabState.from_json(data)


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of `pid` (field 22 of /proc/PID/stat); None once it has exited
    (a zombie has exited, whether or not its parent has reaped it yet)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else int(fields[19])


def stop(pids: list[int]) -> None:
    """SIGTERM, then SIGKILL what is still there after a grace period; wait until all are gone."""
    _signal(pids, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while (remaining := [pid for pid in pids if _exists(pid)]) and time.monotonic() < deadline:
        time.sleep(0.02)
    _signal(remaining, signal.SIGKILL)
    while [pid for pid in remaining if _exists(pid)]:
        time.sleep(0.01)


def _signal(pids: list[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _exists(pid: int) -> bool:
    """Whether `pid` still runs; one that is our own child is reaped on the way."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    return process_start_time(pid) is not None


def _plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "lab_id": plan.lab_id,
        "topology": plan.topology,
        "zone_egress": plan.zone_egress,
        "fabric_namespace": plan.fabric_namespace,
        "zones": [
            {
                "name": zone.name,
                "index": zone.index,
                "lan": str(zone.lan),
                "router_lan_address": str(zone.router_lan_address),
                "router_wan_address": str(zone.router_wan_address),
                "router_namespace": zone.router_namespace,
                "hosts": [
                    {
                        "name": host.name,
                        "role": host.role.value,
                        "address": str(host.address),
                        "namespace": host.namespace,
                    }
                    for host in zone.hosts
                ],
            }
            for zone in plan.zones
        ],
    }


def _plan_from_json(data: dict[str, Any]) -> Plan:
    zones = tuple(
        PlannedZone(
            zone["name"],
            zone["index"],
            IPv4Network(zone["lan"]),
            IPv4Address(zone["router_lan_address"]),
            IPv4Address(zone["router_wan_address"]),
            zone["router_namespace"],
            tuple(
                PlannedHost(
                    zone["name"],
                    host["name"],
                    Role(host["role"]),
                    IPv4Address(host["address"]),
                    host["namespace"],
                )
                for host in zone["hosts"]
            ),
        )
        for zone in data["zones"]
    )
    return Plan(
        data["lab_id"], data["topology"], data["zone_egress"], data["fabric_namespace"], zones
    )
