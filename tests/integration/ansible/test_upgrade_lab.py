"""playbooks/upgrade.yml and playbooks/teardown.yml on the session's deployment of the whole
mesh (conftest.py), after test_roles_lab.py when both run: global and both zones with
flight-control in each and its client in us-east-1, whose calls both zones answer.

upgrade.yml then moves every host but the client's to a version built from this tree with a
local version suffix, while the client calls flight-control in a loop: no call fails. The
client's own host is left out (--limit): a caller's sidecar that restarts cuts its own
app's calls, whatever the drain, and an operator upgrades such a host with its app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshfabric.lab.network import namespace_pids
from tests.integration.lab.support import needs_namespaces
from tests.support.ansible_lab import (
    CLIENT,
    CROSS_ZONE_HOSTS,
    EGRESSES,
    GLOBAL_CONTROL_PLANE,
    INGRESSES,
    MESH_HOSTS,
    ZONE_CONTROL_PLANES,
    ZONES,
    CrossZone,
    Deployment,
    Run,
    build_wheel,
    failed,
    zone_online,
    zones_answering,
)
from tests.support.net import wait_until

# Ten hosts installed, then nine upgraded one zone at a time: many minutes on a busy machine.
pytestmark = [pytest.mark.lab, needs_namespaces, pytest.mark.slow, pytest.mark.timeout(3600)]

UPGRADED = tuple(host for host in MESH_HOSTS if host != CLIENT)
# Where each kind of host keeps meshfabric (GROUP_VARS).
VENVS = {
    **dict.fromkeys((GLOBAL_CONTROL_PLANE, *ZONE_CONTROL_PLANES), "opt/control-plane"),
    **dict.fromkeys(INGRESSES, "opt/zone-ingress"),
    **dict.fromkeys(EGRESSES, "opt/zone-egress"),
    **dict.fromkeys(CROSS_ZONE_HOSTS, "opt/dataplane"),
}


def upgrade(deployment: Deployment, version: str, *args: str) -> Run:
    extra = json.dumps({"meshfabric_version": version})
    return deployment.playbook("upgrade.yml", "--extra-vars", extra, *args)


@pytest.mark.parametrize(
    ("extra_vars", "named"),
    [
        ({"meshfabric_version": "9.9.9"}, "meshfabric-9.9.9-py3-none-any.whl"),
        ({"upgrade_zones": ["us-east-1", "ap-south-1"]}, "zone ap-south-1 is not online"),
    ],
    ids=["unknown-version", "zone-not-online"],
)
def test_upgrade_refuses_before_anything_changes(
    deployment: Deployment, cross_zone: CrossZone, extra_vars: dict[str, Any], named: str
) -> None:
    run = deployment.playbook("upgrade.yml", "--extra-vars", json.dumps(extra_vars))

    assert run.returncode != 0
    assert any(named in message for message in run.failures()), run.failures()
    assert set(run.changed().values()) == {0}


def test_upgrade_under_cross_zone_traffic_loses_no_request(
    deployment: Deployment, cross_zone: CrossZone
) -> None:
    version = build_wheel(deployment.work / "wheelhouse", "upgrade", deployment.work)
    cross_zone.start_calls()

    run = upgrade(deployment, version, "--limit", ",".join(UPGRADED))
    answers = cross_zone.stop_calls()

    assert run.returncode == 0, run.output
    assert failed(answers) == [], failed(answers)[:5]
    assert zones_answering(answers) == set(ZONES)
    assert {host: deployment.installed_version(host, VENVS[host]) for host in UPGRADED} == (
        dict.fromkeys(UPGRADED, version)
    )
    assert deployment.installed_version(CLIENT, VENVS[CLIENT]) != version
    for zone in ZONES:
        wait_until(lambda zone=zone: zone_online(deployment, zone), 60, f"{zone} online")


def test_teardown_stops_everything_and_a_second_teardown_changes_nothing(
    deployment: Deployment, cross_zone: CrossZone
) -> None:
    limit = ("--limit", ",".join(MESH_HOSTS))
    cross_zone.stop()

    checked = deployment.playbook("teardown.yml", *limit, "--check")
    still_there = [
        host for host in MESH_HOSTS if (deployment.hosts_dir / host / VENVS[host]).exists()
    ]
    first = deployment.playbook("teardown.yml", *limit)
    second = deployment.playbook("teardown.yml", *limit)

    assert checked.returncode == 0, checked.output
    assert all(checked.changed()[host] > 0 for host in MESH_HOSTS), checked.changed()
    assert still_there == list(MESH_HOSTS)
    assert first.returncode == 0, first.output
    assert running_in(deployment, MESH_HOSTS) == {}
    assert [
        host for host in MESH_HOSTS if (deployment.hosts_dir / host / VENVS[host]).exists()
    ] == []
    assert (
        deployment.hosts_dir / GLOBAL_CONTROL_PLANE / "var/lib/control-plane/admin-token"
    ).exists()
    assert second.returncode == 0, second.output
    assert second.changed() == dict.fromkeys(MESH_HOSTS, 0)


def running_in(deployment: Deployment, hosts: tuple[str, ...]) -> dict[str, list[str]]:
    """The programs left in each host's network namespace, other than the lab's sshd and the
    `nc` that carries Ansible's SSH connection into the namespace (ssh's ProxyCommand)."""
    left = {}
    for host in hosts:
        lab_host = deployment.lab.host(Deployment.lab_key(host))
        ssh_proxy = f"nc {lab_host.planned.address} 22"
        programs = [command_line(pid) for pid in namespace_pids(lab_host.namespace)]
        programs = [p for p in programs if p and "sshd" not in p and p != ssh_proxy]
        if programs:
            left[host] = programs
    return left


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except FileNotFoundError:  # it ended meanwhile
        return ""
