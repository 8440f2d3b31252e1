from __future__ import annotations

import json

from tests.integration.cli.conftest import (
    Meshctl,
    documents,
    mesh_doc,
    permission_doc,
    timeout_doc,
)


def test_inspect_meshes_counts_resources_by_type(meshctl: Meshctl, mesh_name: str) -> None:
    batch = documents(
        mesh_doc(mesh_name),
        permission_doc(mesh_name, "allow"),
        timeout_doc(mesh_name, "one"),
        timeout_doc(mesh_name, "two"),
    )
    meshctl.ok("apply", "-f", "-", stdin=batch)
    summaries = json.loads(meshctl.ok("inspect", "meshes", "-o", "json"))
    (mine,) = [summary for summary in summaries if summary["name"] == mesh_name]
    assert mine["resources"] == {"MeshTrafficPermission": 1, "MeshTimeout": 2}
    (row,) = [
        line for line in meshctl.ok("inspect", "meshes").splitlines() if line.startswith(mesh_name)
    ]
    assert row.endswith("MeshTimeout: 2, MeshTrafficPermission: 1")  # in the catalogue's order


def test_inspect_a_type_summarises_it_per_mesh(meshctl: Meshctl, mesh_name: str) -> None:
    batch = documents(mesh_doc(mesh_name), timeout_doc(mesh_name, "a"), timeout_doc(mesh_name, "b"))
    meshctl.ok("apply", "-f", "-", stdin=batch)
    lines = meshctl.ok("inspect", "meshtimeouts").splitlines()
    assert lines[0].split() == ["MESH", "COUNT", "ORIGINS", "LAST", "MODIFIED"]
    (row,) = [line.split() for line in lines if line.startswith(mesh_name)]
    assert row[:4] == [mesh_name, "2", "local:", "2"]


def test_inspect_zones_lists_the_overview(meshctl: Meshctl) -> None:
    assert json.loads(meshctl.ok("inspect", "zones", "-o", "json")) == []
    assert meshctl.ok("inspect", "zones").split() == [
        "NAME", "ENABLED", "STATUS", "CP", "VERSION", "CONNECTED", "INGRESSES", "EGRESSES",
    ]  # fmt: skip


def test_generate_zone_token_prints_a_token(meshctl: Meshctl) -> None:
    token = meshctl.ok("generate", "zone-token", "--zone", "us-east-1", "--scope", "ingress")
    assert token.count(".") == 2  # a JWT: header.claims.signature


def test_help_shows_examples(meshctl: Meshctl) -> None:
    for command in (["apply"], ["get"], ["delete"], ["config", "control-planes", "add"]):
        assert "Examples:\n" in meshctl.ok(*command, "--help")
