"""meshfabric-cp with a configuration file it cannot use: one line per problem naming the
file, the line and the key (with the keys allowed there), exit code 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cp(tmp_path: Path, config: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "cp.yaml"
    path.write_text(config)
    command = [sys.executable, "-m", "meshfabric.cp", "run", "-c", str(path)]
    command += ["--data-dir", str(tmp_path / "data")]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=30, env={**os.environ, **env}
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "api:\n  port: 5681\n  prot: 1\n",
            "line 3: unknown key api.prot; the keys allowed in api are: address, port",
        ),
        (
            "modee: zone\n",
            "line 1: unknown key modee; the keys allowed at the top level are: mode,",
        ),
        ("api:\n  port: lots\n", "line 2: api.port: Input should be a valid integer"),
        (
            "api:\n  port: [5681\n",
            "(while parsing a flow sequence that starts at line 2, column 9)",
        ),
        ("- api\n", "the configuration must be a mapping of keys to values"),
    ],
)
def test_a_bad_file_names_its_line_and_key(tmp_path: Path, config: str, message: str) -> None:
    done = run_cp(tmp_path, config)
    assert done.returncode == 2
    assert message in done.stderr
    assert str(tmp_path / "cp.yaml") in done.stderr
    assert "Traceback" not in done.stderr
    assert "errors.pydantic.dev" not in done.stderr


def test_a_bad_variable_is_named(tmp_path: Path) -> None:
    done = run_cp(tmp_path, "{}\n", MESHFABRIC_API__PORT="lots")
    assert done.returncode == 2
    assert "MESHFABRIC_API__PORT: api.port: Input should be a valid integer" in done.stderr
