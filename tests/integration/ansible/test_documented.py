"""COLLECTION.md's first tasks run as written on a fresh control plane (a policy needs its
mesh: the page creates it first)."""

from __future__ import annotations

import yaml

from tests.integration.ansible.conftest import Ansible
from tests.support.control_plane import ControlPlane
from tests.support.docs import blocks


def test_the_collection_first_tasks_on_a_fresh_control_plane(
    ansible: Ansible, control_plane: ControlPlane
) -> None:
    [block] = [
        b for b in blocks("yaml") if b.page.name == "COLLECTION.md" and "One policy" in b.text
    ]
    tasks = yaml.safe_load(block.text)
    first = tasks[: [task["name"] for task in tasks].index("One policy") + 1]
    run = ansible.playbook(first, control_plane=control_plane)
    assert run.returncode == 0, run.output
    assert run.result("One policy")["changed"]
