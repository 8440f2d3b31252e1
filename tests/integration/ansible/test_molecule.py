"""The collection's molecule scenarios (molecule/, scripts/molecule.sh): the default scenario
brings one lab up and takes it down, and each role's scenario converges its role on lab hosts
over SSH, converges it again with nothing changed (molecule's idempotence) and verifies it:
the service answers and runs the configuration its variables asked for.

site.yml on the lab (test_roles_lab.py) checks the whole mesh; these check one role at a time,
so that a role that is not idempotent or not what it was asked to be is named by its scenario.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.integration.ansible.conftest import REPO
from tests.integration.lab.support import lab_cli, needs_namespaces

# Six scenarios on five hosts, each converging its role twice: minutes on a busy machine.
pytestmark = [pytest.mark.lab, needs_namespaces, pytest.mark.slow, pytest.mark.timeout(2400)]

SCENARIOS = [
    "control_plane_global",
    "control_plane_zone",
    "dataplane",
    "telemetry",
    "zone_egress",
    "zone_ingress",
]
CHECKED_ACTIONS = ["converge", "idempotence", "verify"]
# The line molecule prints for each action it ran: "envoy > verify: Executed: Successful".
ACTION_RESULT = re.compile(r"^(?P<scenario>\w+) > (?P<action>\w+): Executed: (?P<result>.+)$", re.M)


def test_every_role_scenario_converges_changes_nothing_the_second_time_and_verifies(
    wheelhouse: Path,
) -> None:
    # A short path: the lab's ssh control sockets live under it.
    ephemeral = Path(tempfile.mkdtemp(prefix="mfmol-", dir="/tmp"))
    env = {
        **os.environ,
        "MESHFABRIC_VENV": str(Path(sys.executable).parents[1]),
        "MESHFABRIC_WHEELHOUSE": str(wheelhouse),
        "MOLECULE_EPHEMERAL_DIRECTORY": str(ephemeral),
        "NO_COLOR": "1",
    }
    try:
        done = subprocess.run(
            [str(REPO / "scripts" / "molecule.sh"), "test", "--all"],
            env=env, capture_output=True, text=True, timeout=2300, check=False,
        )  # fmt: skip
        lab_left = (ephemeral / "lab" / "state.json").exists()
    finally:
        if (ephemeral / "lab" / "state.json").exists():
            lab_cli("down", "--state-dir", str(ephemeral / "lab"), check=False)
        shutil.rmtree(ephemeral, ignore_errors=True)

    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    results = {(m["scenario"], m["action"]): m["result"] for m in ACTION_RESULT.finditer(output)}
    for scenario in SCENARIOS:
        for action in CHECKED_ACTIONS:
            assert results.get((scenario, action)) == "Successful", (scenario, action, results)
    assert results.get(("default", "destroy")) == "Successful", results
    assert not lab_left
