"""The ZoneEgress an egress proxy registers, from meshfabric-dp's flags."""

from __future__ import annotations

import subprocess
import sys

import pytest

from meshfabric.dp import egress
from meshfabric.dp.dataplane import DataplaneError


def test_the_egress_registers_where_its_zones_sidecars_dial_it() -> None:
    assert egress.spec("egress", None, "10.10.1.12", 10002) == {
        "type": "ZoneEgress",
        "mesh": "default",
        "name": "egress",
        "networking": {"address": "10.10.1.12", "port": 10002},
    }


def test_an_egress_no_sidecar_could_dial_is_refused() -> None:
    with pytest.raises(DataplaneError, match="--address"):
        egress.spec("egress", "default", None, 10002)


def test_the_command_names_the_missing_flag() -> None:
    command = [
        sys.executable, "-m", "meshfabric.dp", "run", "--proxy-type", "egress",
        "--cp-address", "unix:///nonexistent.sock", "--name", "egress",
        "--dataplane-token", "t",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
    assert done.returncode == 2
    assert "an egress needs --address" in done.stderr
