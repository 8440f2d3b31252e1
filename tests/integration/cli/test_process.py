"""meshctl as a real process: what a shell sees on stdout, stderr and in the exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.net import free_port


def _meshctl(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MESHCTL_CONFIG": str(config)}
    command = [sys.executable, "-m", "meshfabric.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)


def test_a_failure_is_one_line_on_stderr_and_exit_code_1(tmp_path: Path) -> None:
    config = tmp_path / "meshctl.yaml"
    address = f"http://127.0.0.1:{free_port()}"
    add = ["config", "control-planes", "add", "--name", "down", "--address", address]
    assert _meshctl(config, *add, "--skip-verify").returncode == 0
    failed = _meshctl(config, "get", "meshes")
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert failed.stderr.startswith(f"Error: cannot reach the control plane at {address}")
    assert len(failed.stderr.splitlines()) == 1


def test_usage_errors_exit_with_2(tmp_path: Path) -> None:
    assert _meshctl(tmp_path / "meshctl.yaml", "get").returncode == 2
