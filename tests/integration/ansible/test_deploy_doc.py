"""docs/deploy.md's inventory as a user writes it from `pulumi up`'s outputs, read by the real
ansible-inventory and ansible-playbook with the page's own commands: every host of the stack
is in a play of site.yml, global first, and an app host (which has no public address) is
reached through its zone's control plane."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.ansible.conftest import BIN, Ansible
from tests.support.docs import REPO, blocks

PAGE = REPO / "docs" / "deploy.md"
STACK_HOSTS = {"global-cp-0", "us-east-1-cp-0", "us-east-1-ingress-0", "us-east-1-app-0"}
# `ansible-playbook --list-hosts` prints each play, then its hosts indented below it.
_PLAY = re.compile(
    r"^\s*play #\d+ \([^)]*\): (?P<name>.+?)\tTAGS.*?hosts \(\d+\):\n(?P<hosts>(?:\s{6}\S+\n)*)",
    re.MULTILINE | re.DOTALL,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The page's inventory files (each block is labelled with its path), beside a copy of
    the playbooks, as in a checkout of this repository."""
    for block in blocks("yaml", "json"):
        if block.page == PAGE and block.label.startswith("inventory/"):
            path = tmp_path / block.label
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.text)
    shutil.copytree(REPO / "playbooks", tmp_path / "playbooks")
    return tmp_path


def documented(program: str) -> list[list[str]]:
    """The page's command lines of `program` that read the inventory directory."""
    lines = [line for b in blocks("sh") if b.page == PAGE for line in b.text.splitlines()]
    return [shlex.split(line) for line in lines if line.startswith(program + " -i inventory/")]


def run(ansible: Ansible, project: Path, words: list[str]) -> str:
    done = subprocess.run(
        [str(BIN / words[0]), *words[1:]],
        cwd=project, env=ansible.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_documented_inventory_puts_every_stack_host_in_a_play_of_site_yml(
    ansible: Ansible, project: Path
) -> None:
    [graph] = documented("ansible-inventory")
    [list_hosts] = [words for words in documented("ansible-playbook") if "--list-hosts" in words]

    assert "us-east-1-app-0" in run(ansible, project, graph)
    plays = [
        (match["name"], set(match["hosts"].split()))
        for match in _PLAY.finditer(run(ansible, project, list_hosts))
    ]

    assert plays, "no play found in the output: the pattern is stale"
    assert plays[0][1] == {"global-cp-0"}
    assert set().union(*(hosts for _, hosts in plays)) == STACK_HOSTS


def test_an_app_host_is_reached_through_its_zone_control_plane(
    ansible: Ansible, project: Path
) -> None:
    host = json.loads(
        run(
            ansible, project, ["ansible-inventory", "-i", "inventory/", "--host", "us-east-1-app-0"]
        )
    )
    debug = ["-m", "ansible.builtin.debug", "-a", "var=ansible_ssh_common_args"]
    shown = run(ansible, project, ["ansible", "-i", "inventory/", "us-east-1-app-0", *debug])

    assert host["ansible_host"] == "10.10.2.20"
    assert host["dataplane_inbounds"][0]["tags"] == {"kuma.io/service": "flight-control"}
    assert "-o ProxyJump=admin@3.90.0.11" in shown
