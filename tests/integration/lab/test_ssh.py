"""Ansible reaches every lab host over real SSH, with the inventory `meshfabric-lab` prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from meshfabric.lab import Lab
from tests.integration.lab.support import lab_cli, needs_namespaces

pytestmark = [pytest.mark.lab, needs_namespaces, pytest.mark.slow]

ANSIBLE = Path(sys.executable).parent / "ansible"


def test_ansible_pings_every_host_through_its_own_sshd(kong_air: Lab, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(lab_cli("inventory", "--state-dir", str(kong_air.state_dir)).stdout)
    env = {
        **os.environ,
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
    }

    run = subprocess.run(
        [str(ANSIBLE), "-i", str(inventory), "all", "-m", "ansible.builtin.ping"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    stats = json.loads(run.stdout)["stats"]
    assert set(stats) == {host.planned.inventory_name for host in kong_air.hosts}
    assert all(s["ok"] == 1 and not s["unreachable"] and not s["failures"] for s in stats.values())
    for host in kong_air.hosts:
        log = kong_air.state_dir / "hosts" / host.planned.inventory_name / "sshd.log"
        assert "Accepted publickey for root" in log.read_text(), host.key


def test_ssh_reaches_a_host_by_its_inventory_name_with_the_labs_ssh_config(
    kong_air: Lab,
) -> None:
    client = kong_air.host("eu-west-1/flight-control-2")

    shown = subprocess.run(
        ["ssh", "-F", str(kong_air.ssh_config), client.planned.inventory_name,
         "ip", "-4", "-o", "addr", "show", "dev", "eth0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )  # fmt: skip

    assert shown.returncode == 0, shown.stderr
    assert f"inet {client.address}/24" in shown.stdout


def test_inventory_groups_hosts_by_role_and_zone_with_their_facts(kong_air: Lab) -> None:
    inventory = yaml.safe_load(lab_cli("inventory", "--state-dir", str(kong_air.state_dir)).stdout)
    groups = inventory["all"]["children"]
    common = inventory["all"]["vars"]

    assert set(groups["global_control_plane"]["hosts"]) == {"control-plane.global"}
    assert set(groups["zone_control_plane"]["hosts"]) == {
        "control-plane.us-east-1",
        "control-plane.eu-west-1",
    }
    assert set(groups["zone_ingress"]["hosts"]) == {"ingress.us-east-1", "ingress.eu-west-1"}
    assert set(groups["zone_egress"]["hosts"]) == {"egress.us-east-1", "egress.eu-west-1"}
    assert set(groups["zone_eu_west_1"]["hosts"]) == {
        f"{name}.eu-west-1"
        for name in ("control-plane", "ingress", "egress", "flight-control-1", "flight-control-2")
    }
    client = groups["dataplanes"]["hosts"]["client-1.us-east-1"]
    address = kong_air.host("us-east-1/client-1").address
    assert (client["zone"], client["role"], client["address"]) == ("us-east-1", "app", address)
    assert client["ansible_host"] == address
    assert common["ansible_user"] == "root"
    assert Path(common["ansible_ssh_private_key_file"]).is_file()
    assert common["ansible_python_interpreter"] == "/usr/bin/python3"
