"""meshfabric-dp as a real process, when it cannot start: an address it does not take, a
control plane that does not answer. Each run ends with exit code 2 and says what to fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.dataplane.support import sidecar_dataplane
from tests.support.net import free_port


def run_dp(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    token = tmp_path / "token"
    token.write_text("not-checked-before-connecting")
    dataplane = tmp_path / "web.yaml"
    spec = sidecar_dataplane("web-1", free_port(), free_port(), "web", "http")
    dataplane.write_text(json.dumps(spec))
    command = [sys.executable, "-m", "meshfabric.dp", "run", "--dataplane-file", str(dataplane)]
    command += ["--dataplane-token-file", str(token), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("http://127.0.0.1:5678", "http:// is not an xDS scheme"),
        ("https://127.0.0.1:5681", "5681 is the REST API port"),
    ],
)
def test_an_address_it_does_not_take_is_refused_with_the_forms_it_does(
    tmp_path: Path, address: str, reason: str
) -> None:
    done = run_dp(tmp_path, "--cp-address", address)
    assert done.returncode == 2
    assert f'--cp-address "{address}": {reason}' in done.stderr
    assert "https://host:5678" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_control_plane_that_does_not_answer_is_named_as_unreachable(tmp_path: Path) -> None:
    address = f"grpc://127.0.0.1:{free_port()}"
    done = run_dp(tmp_path, "--cp-address", address, "--insecure", "--cp-wait-seconds", "1")
    assert done.returncode == 2
    assert f"could not connect to the control plane at {address} within 1s" in done.stderr
    assert "refused to register" not in done.stderr


@pytest.mark.parametrize("program", ["meshfabric.dp", "meshfabric.cp"])
def test_short_help_is_accepted(program: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", program, "run", "-h"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
