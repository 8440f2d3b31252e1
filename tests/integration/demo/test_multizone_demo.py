"""The multi-zone step of `make demo`, run as the demo runs it: global and two zones in the
lab, real Envoys, what it prints is what a person watching sees."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.lab.support import needs_namespaces

REPO = Path(__file__).resolve().parents[3]
STEP = "\n\033[1;36m=="  # how the demo starts each step's heading
SCRIPT = REPO / "scripts" / "demo" / "multizone.py"

# Arize Phoenix starts beside the lab (a minute or more on a busy machine).
pytestmark = [needs_namespaces, pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(1500)]


def test_the_multizone_demo_fails_over_without_errors_traces_logs_and_sees_a_zone_freeze() -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=1440
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # The mesh deployed by the collection's site.yml over SSH, every host without a failure.
    deployed = section(output, "Deploy the whole mesh with ansible-playbook")
    assert "$ ansible-playbook -i inventory playbooks/site.yml" in deployed, output
    recap = re.findall(
        r"^(\S+) +: ok=\d+ +changed=\d+ +unreachable=(\d+) +failed=(\d+)", deployed, re.M
    )
    assert len(recap) == 10 and {(u, f) for _, u, f in recap} == {("0", "0")}, deployed
    # Policies made at global are listed by each zone's own control plane.
    assert output.count("booking-to-flight-control  default  MeshService") == 2, output
    # us-east-1's MeshService at global and in eu-west-1, under Kuma's hashed name and labels.
    synced = section(output, "reaches global and eu-west-1")
    hashed = Counter(re.findall(r"flight-control-[bcdfghjklmnpqrstvwxz2456789]{16}", synced))
    assert max(hashed.values()) >= 2, output
    assert "kuma.io/zone: us-east-1" in synced
    assert 'it was issued for zone "us-east-1", not "eu-west-1"' in output
    # booking calls flight-control by its MeshMultiZoneService name, resolved by its sidecar.
    assert re.search(
        r"booking calls http://flight-control\.mzsvc\.mesh\.local:8080/flights steadily", output
    )
    assert re.search(r"flight-control\.mzsvc\.mesh\.local resolves to \['243\.", output), output
    # booking's calls: local first, eu-west-1 over mTLS once the local instance died, none failed.
    assert re.search(r"while us-east-1 serves: \d+ calls so far \(us-east-1: \d+\)", output)
    assert re.search(r"after the failover: \d+ calls so far \(eu-west-1: \d+, us-east-1", output)
    assert "the last answer came from eu-west-1, called by spiffe://default/booking" in output
    assert re.search(r"failed requests across failover and failback: 0 of \d+", output), output
    # One Prometheus in global's host answers for the proxies of both zones.
    assert re.search(
        r"PromQL: sum by \(zone\) \(envoy_server_live.*\n  zone=\S+: \d+\n  zone=", output
    )
    # Its end: one request booking sent while eu-west-1 answered, its one trace in Phoenix
    # with a span from each zone, and its access-log lines from both zones at one rsyslog.
    assert '"service": "eu-west-1"' in section(output, "x-booking: KA-0042")
    [trace] = re.findall(r"^trace ([0-9a-f]{32}): \d+ spans$", output, re.MULTILINE)
    spans = section(output, f"trace {trace}:")
    assert sorted(re.findall(r"^  span \S+ kuma\.zone=(\S+) ", spans, re.MULTILINE)) == [
        "eu-west-1",
        "us-east-1",
    ], output
    logged = re.findall(r"^  zone=(\S+) .* path=/flights/KA-0042 status=200$", output, re.MULTILINE)
    assert sorted(logged) == ["eu-west-1", "us-east-1"], output
    # How long it took is the demo's figure to show, not this test's to bound (the demo
    # itself gives up after 30 s).
    assert re.search(r"us-east-1 offline at global after [\d.]+ s \(", output), output
    assert "us-east-1 online again" in output
    assert "lab torn down" in output


def section(output: str, after: str) -> str:
    """What the demo printed after `after`, up to the next step's heading."""
    return output.split(after, 1)[1].split(STEP, 1)[0]
