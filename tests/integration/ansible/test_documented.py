"""COLLECTION.md's first tasks, and the playbooks as their headers show them, run as
written on a fresh control plane."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.integration.ansible.conftest import BIN, Ansible, request, token_file
from tests.support.control_plane import ControlPlane
from tests.support.docs import REPO, blocks


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


def test_the_apply_resources_playbook_as_its_header_shows_it(
    ansible: Ansible, control_plane: ControlPlane, collections_path: Path
) -> None:
    playbook = (
        collections_path / "ansible_collections/meshfabric/mesh/playbooks/apply_resources.yml"
    )
    command = [
        str(BIN / "ansible-playbook"), str(playbook),
        "-e", "meshfabric_resources_src=examples/kong-air",  # relative, as documented
        "-e", f"meshfabric_url={control_plane.url}",
        "-e", f"meshfabric_token_file={token_file(control_plane)}",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=REPO, env=ansible.env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    _, body = request(control_plane, "GET", "/meshes/default/meshtrafficpermissions")
    assert [item["name"] for item in body["items"]] == ["booking-to-flight-control"]
