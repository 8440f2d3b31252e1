"""A policy added as one package (tests/support/toy_policy) and nothing else: a real control
plane serves it, validates it and applies it to a proxy's config."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.control_plane import ControlPlane

TOY_PACKAGES = Path(__file__).parents[2] / "support" / "toy_policy"
DATAPLANE = {
    "type": "Dataplane",
    "mesh": "default",
    "name": "web-1",
    "networking": {
        "address": "127.0.0.1",
        "inbound": [{"port": 8080, "tags": {"kuma.io/service": "web"}}],
        "outbound": [{"port": 10001, "tags": {"kuma.io/service": "backend"}}],
    },
}


def toy(name: str, limit: int) -> dict[str, object]:
    return {
        "type": "MeshToy",
        "mesh": "default",
        "name": name,
        "spec": {
            "targetRef": {"kind": "Mesh"},
            "to": [{"targetRef": {"kind": "Mesh"}, "default": {"bufferLimitBytes": limit}}],
        },
    }


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    path = os.pathsep.join(filter(None, [str(TOY_PACKAGES), os.environ.get("PYTHONPATH")]))
    cp = ControlPlane(tmp_path / "cp", {"PYTHONPATH": path}).start()
    try:
        with cp.client() as client:
            yield client
    finally:
        cp.stop()


def test_the_toy_policy_is_served_validated_and_applied(api: httpx.Client) -> None:
    catalogue = {entry["name"]: entry for entry in api.get("/_resources").json()["resources"]}
    assert catalogue["MeshToy"]["path"] == "meshtoys"
    assert catalogue["MeshToy"]["policy"]["hasEnvoyPlugin"] is True

    refused = api.put("/meshes/default/meshtoys/tiny", json=toy("tiny", 10))
    assert refused.status_code == 400
    fields = [entry["field"] for entry in refused.json()["invalid_parameters"]]
    assert fields == ["spec.to[0].default.bufferLimitBytes"]

    assert api.put("/meshes/default", json={"type": "Mesh", "name": "default"}).is_success
    assert api.put("/meshes/default/dataplanes/web-1", json=DATAPLANE).is_success
    assert api.put("/meshes/default/meshtoys/big", json=toy("big", 65536)).is_success
    config = api.get("/meshes/default/dataplanes/web-1/_config").json()
    assert config["policies"]["MeshToy"] == ["big"]
    (backend,) = [cluster for cluster in config["xds"]["cds"] if cluster["name"] == "backend"]
    assert backend["perConnectionBufferLimitBytes"] == 65536
