"""`down`, and an `up` that fails half-way, leave nothing behind: no namespace, link, rule or
process, and no state file."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from meshfabric.lab import KONG_AIR, Lab, LabError, ssh
from meshfabric.lab.state import LabState, ProcessRecord, load, process_start_time
from tests.integration.lab.support import lab_cli, needs_namespaces, state_dir
from tests.support.net import wait_until

pytestmark = [pytest.mark.lab, needs_namespaces]


def _namespaces() -> set[str]:
    return {line.split()[0] for line in _output("ip", "netns", "list").splitlines() if line.strip()}


def _machine_network() -> list[str]:
    """The link names, addresses, routes and nftables ruleset of the machine's own network
    namespace."""
    links = _output("ip", "-o", "link")
    return [
        "\n".join(line.split(":")[1].strip() for line in links.splitlines()),
        _output("ip", "-o", "addr"),
        _output("ip", "route", "show", "table", "all"),
        _output("nft", "list", "ruleset"),
    ]


def _output(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def _assert_gone(prefix: str, processes: list[ProcessRecord]) -> None:
    # Only this lab's own namespaces: other labs may come and go meanwhile (the suite runs
    # in parallel workers).
    assert not [name for name in _namespaces() if name.startswith(prefix)]
    assert not [process.what for process in processes if process.alive()]


def test_down_removes_every_namespace_process_and_state_file_and_never_touched_the_machine() -> (
    None
):
    machine = _machine_network()
    with state_dir() as state:
        lab_cli("up", "--state-dir", str(state))
        lab = Lab.open(state)
        recorded = load(state).processes
        prefix = f"mflab-{lab.plan.lab_id}-"
        started_by_a_user = lab.host("eu-west-1/flight-control-2").popen(["sleep", "300"])
        assert len(recorded) == len(lab.hosts)
        assert all(process.alive() for process in recorded)
        assert set(lab.plan.namespaces) <= _namespaces()
        assert _machine_network() == machine

        lab_cli("down", "--state-dir", str(state))

        _assert_gone(prefix, recorded)
        assert started_by_a_user.wait(timeout=5) != 0
        assert not state.exists()
    assert _machine_network() == machine


# A supervisor that starts a program again when it is asked to stop, as supervisord may
# when its program and it are stopped at once: it writes the new program's PID to argv[1].
RESPAWNER = """
import signal, subprocess, sys, time
from pathlib import Path
def respawn(signum, frame):
    Path(sys.argv[1]).write_text(str(subprocess.Popen(["sleep", "300"]).pid))
signal.signal(signal.SIGTERM, respawn)
Path(sys.argv[2]).touch()
while True:
    time.sleep(1)
"""


def test_down_also_stops_what_a_supervisor_in_a_host_starts_while_it_is_stopped() -> None:
    with state_dir() as state:
        lab_cli("up", "--state-dir", str(state))
        respawned, ready = state.parent / "respawned.pid", state.parent / "ready"
        host = Lab.open(state).host("eu-west-1/flight-control-2")
        host.popen([sys.executable, "-c", RESPAWNER, str(respawned), str(ready)])
        wait_until(ready.exists, 30, "the supervisor to handle SIGTERM")

        lab_cli("down", "--state-dir", str(state))

        assert process_start_time(int(respawned.read_text())) is None


def test_an_up_that_fails_half_way_removes_what_it_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    machine = _machine_network()
    made_before_failing: list[LabState] = []
    original = ssh.wait_listening

    with state_dir() as state:

        def fail_on_the_third_host(*args: Any) -> None:
            made = load(state)
            if args[1] == made.plan.hosts[2]:
                made_before_failing.append(made)
                assert all(process.alive() for process in made.processes)
                assert set(made.namespaces) <= _namespaces()
                raise LabError("injected failure")
            original(*args)

        monkeypatch.setattr(ssh, "wait_listening", fail_on_the_third_host)
        with pytest.raises(LabError, match="injected failure"):
            Lab.up(KONG_AIR, state)

        (made,) = made_before_failing
        _assert_gone(f"mflab-{made.plan.lab_id}-", made.processes)
        assert not state.exists()
    assert _machine_network() == machine
