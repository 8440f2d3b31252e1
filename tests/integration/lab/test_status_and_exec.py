"""`up` builds every host of the topology; `status` and `exec` show them as they are."""

from __future__ import annotations

import json

import pytest

from meshfabric.lab import Lab
from tests.integration.lab.support import lab_cli, needs_namespaces, status

pytestmark = [pytest.mark.lab, needs_namespaces]

KONG_AIR_HOSTS = {
    "global/control-plane": "global-control-plane",
    "us-east-1/control-plane": "zone-control-plane",
    "us-east-1/ingress": "ingress",
    "us-east-1/egress": "egress",
    "us-east-1/flight-control-1": "app",
    "us-east-1/client-1": "app",
    "eu-west-1/control-plane": "zone-control-plane",
    "eu-west-1/ingress": "ingress",
    "eu-west-1/egress": "egress",
    "eu-west-1/flight-control-1": "app",
    "eu-west-1/flight-control-2": "app",
}


def test_status_json_lists_every_host_with_its_address_configured_in_its_namespace(
    kong_air: Lab,
) -> None:
    hosts = status(kong_air.state_dir)["hosts"]

    assert {host["host"]: host["role"] for host in hosts} == KONG_AIR_HOSTS
    for host in hosts:
        assert host["host"].split("/")[0] == host["zone"]
        addresses = kong_air.host(host["host"]).run(
            ["ip", "-4", "-j", "addr", "show", "dev", "eth0"],
            capture_output=True,
            text=True,
            check=True,
        )
        configured = json.loads(addresses.stdout)[0]["addr_info"][0]["local"]
        assert configured == host["address"], host
        assert host["namespace"].startswith(f"mflab-{kong_air.plan.lab_id}-")
        assert host["sshd"] == "running"


def test_status_table_shows_each_host_with_its_address(kong_air: Lab) -> None:
    table = lab_cli("status", "--state-dir", str(kong_air.state_dir)).stdout

    for host in kong_air.hosts:
        row = next(line for line in table.splitlines() if f" {host.key} " in line)
        assert host.address in row


def test_exec_runs_in_the_host_and_passes_its_exit_code_on(kong_air: Lab) -> None:
    state = ["--state-dir", str(kong_air.state_dir)]
    client = kong_air.host("us-east-1/client-1")

    shown = lab_cli("exec", client.key, *state, "--", "ip", "-4", "-o", "addr", "show", "eth0")
    failed = lab_cli("exec", client.key, *state, "--", "sh", "-c", "exit 3", check=False)

    assert f"inet {client.address}/24" in shown.stdout
    assert failed.returncode == 3


def test_exec_on_an_unknown_host_names_the_hosts_there_are(kong_air: Lab) -> None:
    answer = lab_cli(
        "exec", "us-east-1/nope", "--state-dir", str(kong_air.state_dir), "--", "true", check=False
    )

    assert answer.returncode == 1
    assert "no host 'us-east-1/nope'" in answer.stderr
    assert "us-east-1/client-1" in answer.stderr


def test_a_second_up_in_the_same_state_directory_is_refused(kong_air: Lab) -> None:
    answer = lab_cli("up", "--state-dir", str(kong_air.state_dir), check=False)

    assert answer.returncode == 1
    assert "a lab is already up" in answer.stderr
    assert Lab.open(kong_air.state_dir).plan.lab_id == kong_air.plan.lab_id
