"""Kuma's documented Universal examples apply unchanged and read back equal.

Through the REST API (PUT, then GET) and through meshctl (apply, then get -o json), on a
control plane of this module's own, since the examples live in the mesh `default`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfabric.resources import REGISTRY, Scope
from tests.integration.cli.conftest import Meshctl
from tests.support.control_plane import ControlPlane
from tests.unit.resources.examples import documents

READ_ONLY = {"creationTime", "modificationTime", "status", "outcome", "warnings"}
DOCUMENTS = documents()


@pytest.fixture(scope="module")
def examples_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    cp = ControlPlane(Path(tmp_path_factory.mktemp("kuma-examples"))).start()
    with cp.client() as client:
        client.put("/meshes/default", json={"type": "Mesh", "name": "default"}).raise_for_status()
    yield cp
    cp.stop()


def path_of(document: dict[str, Any]) -> str:
    rtype = REGISTRY.get(document["type"])
    if rtype.scope is Scope.MESH:
        return f"/meshes/{document['mesh']}/{rtype.plural}/{document['name']}"
    return f"/{rtype.plural}/{document['name']}"


def assert_reads_back(sent: dict[str, Any], read: dict[str, Any]) -> None:
    user_labels = sent.get("labels") or {}
    assert {k: read["labels"].get(k) for k in user_labels} == user_labels
    assert _own(read) == _own(sent)


def _own(document: dict[str, Any]) -> dict[str, Any]:
    """Identity and fields; the server keeps status and timestamps itself."""
    return {k: v for k, v in document.items() if k not in READ_ONLY | {"labels"}}


def test_examples_apply_through_the_rest_api(examples_control_plane: ControlPlane) -> None:
    with examples_control_plane.client() as client:
        for example_id, document in DOCUMENTS:
            written = client.put(path_of(document), json=document)
            assert written.status_code in (200, 201), f"{example_id}: {written.text}"
            assert_reads_back(document, client.get(path_of(document)).json())


def test_examples_apply_through_meshctl(
    examples_control_plane: ControlPlane, bare_meshctl: Meshctl
) -> None:
    bare_meshctl.ok(
        "config", "control-planes", "add", "--name", "examples",
        "--address", examples_control_plane.url,
        "--auth-token-file", str(examples_control_plane.data_dir / "admin-token"),
    )  # fmt: skip
    for example_id, document in DOCUMENTS:
        applied = bare_meshctl("apply", "-f", "-", stdin=yaml.safe_dump(document))
        assert applied.exit_code == 0, f"{example_id}: {applied.output}"
        mesh = ["--mesh", document["mesh"]] if "mesh" in document else []
        shown = bare_meshctl.ok("get", document["type"], document["name"], *mesh, "-o", "json")
        assert_reads_back(document, json.loads(shown))
