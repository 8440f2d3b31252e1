"""The `inventory` output of pulumi/aws, read back by the meshfabric.mesh.pulumi plugin.

The program runs under Pulumi's mocks (no Pulumi engine or cloud can run here);
its resolved `inventory` output is written in every file shape the plugin
accepts, and the real `ansible-inventory` turns each into groups and variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, eip, fresh_mocks, mock_ip, run_aws_program

ANSIBLE_INVENTORY = Path(sys.executable).with_name("ansible-inventory")


def _stack_resources(outputs: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "urn": "urn:pulumi:prod::meshfabric-aws::pulumi:pulumi:Stack::meshfabric-aws-prod",
            "type": "pulumi:pulumi:Stack",
            "outputs": outputs,
        },
        {"urn": "urn:pulumi:prod::meshfabric-aws::pulumi:providers:aws::aws-us-east-1"},
    ]


def _stack_output_json(outputs: dict[str, Any]) -> dict[str, Any]:
    return {**outputs, "kubeconfigs": "[secret]"}


def _single_output_json(outputs: dict[str, Any]) -> dict[str, Any]:
    inventory: dict[str, Any] = outputs["inventory"]
    return inventory


def _stack_export(outputs: dict[str, Any]) -> dict[str, Any]:
    return {"version": 3, "deployment": {"manifest": {}, "resources": _stack_resources(outputs)}}


def _local_state_file(outputs: dict[str, Any]) -> dict[str, Any]:
    latest = {"manifest": {}, "resources": _stack_resources(outputs)}
    return {"version": 3, "checkpoint": {"stack": "prod", "latest": latest}}


def _terraform_state(outputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": 7,
        "lineage": "3f1c7a52-0000-4000-8000-000000000000",
        "outputs": {"inventory": {"value": outputs["inventory"], "type": ["object", {}]}},
        "resources": [],
    }


SHAPES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "pulumi stack output --json": _stack_output_json,
    "pulumi stack output inventory --json": _single_output_json,
    "pulumi stack export": _stack_export,
    "local-backend state file": _local_state_file,
    "terraform state": _terraform_state,
}


@pytest.fixture(scope="module")
def collections_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collections root where ansible_collections/meshfabric/mesh is this repository."""
    root = tmp_path_factory.mktemp("collections")
    (root / "ansible_collections" / "meshfabric").mkdir(parents=True)
    (root / "ansible_collections" / "meshfabric" / "mesh").symlink_to(REPO)
    return root


def ansible_inventory(
    collections_path: Path, directory: Path, document: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    (directory / "stack.json").write_text(json.dumps(document))
    source = directory / "mesh.pulumi.yml"
    source.write_text("plugin: meshfabric.mesh.pulumi\npath: stack.json\n")
    environment = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
        "ANSIBLE_HOME": str(directory / "ansible-home"),
        # A source the plugin rejects must fail the command, not just warn.
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
    }
    return subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", str(source), "--list"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=60,
    )


def _plain(value: Any) -> Any:
    # ansible-core 2.19 marks inventory-sourced strings as untrusted in --list output.
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: _plain(item) for key, item in value.items()}
    return value


@pytest.fixture(scope="module")
def stack_outputs() -> dict[str, Any]:
    # Set up before the per-test mocks (a module fixture comes first): mocks of its own, or
    # it would run on whatever loop and mocks the worker's previous module left behind.
    with fresh_mocks():
        return run_aws_program()


def _zone_hosts(zone: str) -> list[str]:
    return [
        f"{zone}-cp-0",
        f"{zone}-ingress-0",
        f"{zone}-egress-0",
        f"{zone}-app-0",
        f"{zone}-app-1",
    ]


EXPECTED_GROUPS = {
    "global_control_plane": ["global-cp-0"],
    "zone_global": ["global-cp-0"],
    "zone_control_plane": ["us-east-1-cp-0", "us-west-2-cp-0"],
    "zone_ingress": ["us-east-1-ingress-0", "us-west-2-ingress-0"],
    "zone_egress": ["us-east-1-egress-0", "us-west-2-egress-0"],
    "dataplanes": ["us-east-1-app-0", "us-east-1-app-1", "us-west-2-app-0", "us-west-2-app-1"],
    "zone_us_east_1": _zone_hosts("us-east-1"),
    "zone_us_west_2": _zone_hosts("us-west-2"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_inventory_output_round_trips_into_groups_and_host_variables(
    shape: str, stack_outputs: dict[str, Any], collections_path: Path, tmp_path: Path
) -> None:
    result = ansible_inventory(collections_path, tmp_path, SHAPES[shape](stack_outputs))
    assert result.returncode == 0, result.stderr
    listing = _plain(json.loads(result.stdout))
    groups = {name: sorted(group["hosts"]) for name, group in listing.items() if "hosts" in group}
    assert groups == {name: sorted(hosts) for name, hosts in EXPECTED_GROUPS.items()}
    hostvars = listing["_meta"]["hostvars"]
    assert hostvars["us-west-2-ingress-0"] == {
        "ansible_host": eip("us-west-2-ingress-0-address"),
        "ansible_user": "admin",
        "meshfabric_zone": "us-west-2",
        "meshfabric_role": "zone_ingress",
        "meshfabric_region": "us-west-2",
        "meshfabric_instance_id": "us-west-2-ingress-0-id",
        "meshfabric_private_ip": mock_ip("us-west-2-ingress-0", "10.99"),
        "meshfabric_public_ip": eip("us-west-2-ingress-0-address"),
    }
    assert hostvars["us-east-1-app-1"] == {
        "ansible_host": mock_ip("us-east-1-app-1", "10.99"),
        "ansible_user": "admin",
        "meshfabric_zone": "us-east-1",
        "meshfabric_role": "dataplane",
        "meshfabric_region": "us-east-1",
        "meshfabric_instance_id": "us-east-1-app-1-id",
        "meshfabric_private_ip": mock_ip("us-east-1-app-1", "10.99"),
        "meshfabric_public_ip": None,
    }
    assert hostvars["global-cp-0"]["meshfabric_zone"] == "global"
    assert hostvars["global-cp-0"]["meshfabric_region"] == "us-east-1"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"inventory": "[secret]"}, "output inventory is a secret"),
        ({"other": {}}, "this stack output has no object output named inventory (outputs: other)"),
        (
            {"inventory": {"version": 2, "hosts": []}},
            "version: 2 is not supported (expected 1)",
        ),
        (
            {
                "inventory": {
                    "version": 1,
                    "hosts": [
                        {"name": "a", "zone": "z", "region": "r", "role": "cp", "private_ip": "1"}
                    ],
                }
            },
            "hosts[0].role: must be one of dataplane, global_control_plane",
        ),
    ],
)
def test_unusable_files_fail_with_a_message_naming_the_problem(
    document: dict[str, Any], message: str, collections_path: Path, tmp_path: Path
) -> None:
    result = ansible_inventory(collections_path, tmp_path, document)
    assert result.returncode != 0
    assert message in " ".join(result.stderr.split())
