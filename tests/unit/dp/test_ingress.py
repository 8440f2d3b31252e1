"""The ZoneIngress an ingress proxy registers, from meshfabric-dp's flags."""

from __future__ import annotations

import subprocess
import sys

import pytest

from meshfabric.dp import ingress
from meshfabric.dp.dataplane import DataplaneError


def test_the_advertised_port_defaults_to_the_port_it_listens_on() -> None:
    found = ingress.spec("ingress", None, "10.10.2.11", 10001, "203.0.113.7", None)
    assert found == {
        "type": "ZoneIngress",
        "mesh": "default",
        "name": "ingress",
        "networking": {
            "address": "10.10.2.11",
            "port": 10001,
            "advertisedAddress": "203.0.113.7",
            "advertisedPort": 10001,
        },
    }


def test_an_ingress_other_zones_could_not_reach_is_refused() -> None:
    with pytest.raises(DataplaneError, match="--advertised-address"):
        ingress.spec("ingress", "default", "10.10.2.11", 10001, None, None)


def test_the_command_names_the_missing_flag() -> None:
    command = [
        sys.executable, "-m", "meshfabric.dp", "run", "--proxy-type", "ingress",
        "--cp-address", "unix:///nonexistent.sock", "--name", "ingress",
        "--dataplane-token", "t",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
    assert done.returncode == 2
    assert "an ingress needs --advertised-address" in done.stderr
