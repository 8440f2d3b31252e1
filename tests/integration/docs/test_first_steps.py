"""The README's first steps run as written against a fresh control plane: only its address
and data directory are those of the test's control plane."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.control_plane import ControlPlane
from tests.support.docs import REPO, blocks

DOCUMENTED_ADDRESS = "http://127.0.0.1:5681"


@pytest.fixture
def fresh(start_control_plane: Callable[..., ControlPlane]) -> ControlPlane:
    return start_control_plane()


def test_the_readme_first_mesh_by_hand(fresh: ControlPlane, tmp_path: Path) -> None:
    [block] = [b for b in blocks("sh") if b.page.name == "README.md" and "meshctl" in b.text]
    commands = [
        line.removesuffix("\\").strip()
        for line in block.text.replace("\\\n", " ").splitlines()
        if line.startswith("meshctl ")
    ]
    assert [c.split()[1] for c in commands] == ["config", "apply", "get"]
    env = {**os.environ, "MESHCTL_CONFIG": str(tmp_path / "meshctl.yaml"), "COLUMNS": "200"}
    output = ""
    for command in commands:
        command = command.replace(DOCUMENTED_ADDRESS, fresh.url)
        command = command.replace("/tmp/mf/", f"{fresh.data_dir}/")
        words = [sys.executable, "-m", "meshfabric.cli", *shlex.split(command)[1:]]
        done = subprocess.run(words, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        output = done.stdout
    assert "booking-to-flight-control" in output  # examples/kong-air's permission
