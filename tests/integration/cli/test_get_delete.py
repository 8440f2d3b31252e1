from __future__ import annotations

import json

import pytest
import yaml

from meshfabric.cli import client
from tests.integration.cli.conftest import Meshctl, documents, mesh_doc, timeout_doc


@pytest.fixture
def applied(meshctl: Meshctl, mesh_name: str) -> str:
    """A mesh with two timeouts labelled team=flight-ops and one labelled otherwise."""
    other_team = timeout_doc(mesh_name, "baggage").replace("flight-ops", "ground-ops")
    batch = documents(
        mesh_doc(mesh_name),
        timeout_doc(mesh_name, "flight-control"),
        timeout_doc(mesh_name, "flight-status", "20s"),
        other_team,
    )
    meshctl.ok("apply", "-f", "-", stdin=batch)
    return mesh_name


def test_get_table_has_name_mesh_target_ref_and_age(meshctl: Meshctl, applied: str) -> None:
    lines = meshctl.ok("get", "meshtimeouts", "--mesh", applied).splitlines()
    assert lines[0].split() == ["NAME", "MESH", "TARGETREF", "KIND", "TARGETREF", "NAME", "AGE"]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["baggage", applied, "Mesh", "-"],
        ["flight-control", applied, "Mesh", "-"],
        ["flight-status", applied, "Mesh", "-"],
    ]


def test_get_yaml_and_json_are_the_apis_shapes(meshctl: Meshctl, applied: str) -> None:
    listed = json.loads(meshctl.ok("get", "MeshTimeout", "-m", applied, "-o", "json"))
    assert listed["total"] == 3
    assert listed["next"] is None
    assert {item["name"] for item in listed["items"]} == {
        "baggage",
        "flight-control",
        "flight-status",
    }
    one = yaml.safe_load(meshctl.ok("get", "mt", "flight-status", "-m", applied, "-o", "yaml"))
    assert one["type"] == "MeshTimeout"
    assert one["spec"]["to"][0]["default"]["idleTimeout"] == "20s"


def test_get_yaml_of_one_resource_applies_back_unchanged(meshctl: Meshctl, applied: str) -> None:
    exported = meshctl.ok("get", "mt", "flight-status", "-m", applied, "-o", "yaml")
    assert meshctl.ok("apply", "-f", "-", stdin=exported) == (
        f"MeshTimeout {applied}/flight-status unchanged\n"
    )


def test_get_filters_by_label_and_pages_through_next(
    meshctl: Meshctl, applied: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client, "PAGE_SIZE", 1)
    filtered = meshctl.ok("get", "meshtimeouts", "-m", applied, "-l", "team=flight-ops")
    assert [line.split()[0] for line in filtered.splitlines()[1:]] == [
        "flight-control",
        "flight-status",
    ]
    listed = json.loads(meshctl.ok("get", "meshtimeouts", "-m", applied, "-o", "json"))
    assert listed["total"] == 3


def test_get_global_types_and_all_meshes(meshctl: Meshctl, applied: str) -> None:
    meshes = meshctl.ok("get", "meshes").splitlines()
    assert meshes[0].split() == ["NAME", "MTLS", "AGE"]
    assert any(line.split()[:2] == [applied, "off"] for line in meshes[1:])
    everywhere = meshctl.ok("get", "meshtimeouts", "--all-meshes", "-o", "json")
    assert {item["mesh"] for item in json.loads(everywhere)["items"]} >= {applied}


def test_delete_then_get_says_not_found(meshctl: Meshctl, applied: str) -> None:
    assert meshctl.ok("delete", "meshtimeout", "baggage", "--mesh", applied) == (
        f"MeshTimeout {applied}/baggage deleted\n"
    )
    assert meshctl.fails("get", "mt", "baggage", "-m", applied) == (
        f"Error: MeshTimeout {applied}/baggage not found\n"
    )
    assert meshctl.fails("delete", "mt", "baggage", "-m", applied) == (
        f"Error: MeshTimeout {applied}/baggage not found\n"
    )


def test_unknown_types_list_the_known_ones(meshctl: Meshctl) -> None:
    error = meshctl.fails("get", "meshgateways")
    assert 'unknown resource type "meshgateways"; known types:' in error
    assert "meshtrafficpermissions" in error


def test_a_mesh_that_does_not_exist_is_an_error_not_an_empty_list(meshctl: Meshctl) -> None:
    missing = 'Error: mesh "nosuch" not found (`meshctl get meshes` lists the meshes)\n'
    assert meshctl.fails("get", "mtp", "--mesh", "nosuch") == missing
    assert meshctl.fails("get", "mtp", "allow-all", "--mesh", "nosuch") == missing


def test_get_size_and_offset_show_one_page(meshctl: Meshctl, mesh_name: str) -> None:
    timeouts = [timeout_doc(mesh_name, f"t{index}") for index in range(3)]
    meshctl.ok("apply", "-f", "-", stdin=documents(mesh_doc(mesh_name), *timeouts))
    page = meshctl.ok("get", "mt", "-m", mesh_name, "--size", "2", "--offset", "1")
    names = [line.split()[0] for line in page.splitlines()[1:3]]
    assert names == ["t1", "t2"]
    assert "(2 of 3 from offset 1; more with --offset)" in page
    listed = yaml.safe_load(meshctl.ok("get", "mt", "-m", mesh_name, "--size", "1", "-o", "yaml"))
    assert (listed["total"], len(listed["items"]), bool(listed["next"])) == (3, 1, True)
