"""Names as Kuma accepts them, for every type and every writer: refused with the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from meshfabric.resources import REGISTRY, Resource, ValidationFailed
from meshfabric.store.manager import ResourceManager
from meshfabric.store.sqlite import SqliteStore


def dataplane(name: str, mesh: str = "default") -> dict[str, Any]:
    inbound = {"port": 8080, "tags": {"kuma.io/service": "web"}}
    return {
        "type": "Dataplane",
        "mesh": mesh,
        "name": name,
        "networking": {"address": "127.0.0.1", "inbound": [inbound]},
    }


def path_of(name: str) -> str:
    # Dots too: a client would otherwise resolve ".." before sending it.
    return quote(name, safe="").replace(".", "%2E")


async def invalid_fields(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    return {item["field"]: item["reason"] for item in response.json()["invalid_parameters"]}


@pytest.fixture
async def api_with_mesh(api: httpx.AsyncClient) -> httpx.AsyncClient:
    mesh = {"type": "Mesh", "name": "default"}
    assert (await api.put("/meshes/default", json=mesh)).status_code == 201
    return api


@pytest.mark.parametrize(
    "name",
    ["nul\x00byte", "new\nline", "..", "a..b", "a" * 5000, "Upper", "under_score", "-web", " "],
    ids=[
        "nul",
        "newline",
        "dotdot",
        "empty-label",
        "5000-chars",
        "upper",
        "underscore",
        "dash",
        "space",
    ],
)
async def test_a_dataplane_name_kuma_refuses_is_a_400_naming_the_name(
    api_with_mesh: httpx.AsyncClient, name: str
) -> None:
    response = await api_with_mesh.put(
        f"/meshes/default/dataplanes/{path_of(name)}", json=dataplane(name)
    )
    assert "name" in await invalid_fields(response)
    assert (await api_with_mesh.get("/meshes/default/dataplanes")).json()["total"] == 0


async def test_a_mesh_name_is_a_dns_label_without_dots(api: httpx.AsyncClient) -> None:
    for name in ("a.b", "1mesh", "m" * 64):
        response = await api.put(f"/meshes/{name}", json={"type": "Mesh", "name": name})
        assert "name" in await invalid_fields(response)
    assert (await api.put("/meshes/kong-air", json={"type": "Mesh", "name": "kong-air"})).is_success


async def test_names_kuma_accepts_still_are(api_with_mesh: httpx.AsyncClient) -> None:
    for name in ("web-1", "web-1.default.svc", "0abc", "a" * 253):
        response = await api_with_mesh.put(
            f"/meshes/default/dataplanes/{name}", json=dataplane(name)
        )
        assert response.status_code == 201, response.text


async def test_a_mesh_service_display_name_is_a_dns_label(
    api_with_mesh: httpx.AsyncClient,
) -> None:
    service = {
        "type": "MeshService",
        "mesh": "default",
        "name": "backend.synced",
        "spec": {"selector": {"dataplaneTags": {"kuma.io/service": "backend"}}, "ports": []},
    }
    response = await api_with_mesh.put("/meshes/default/meshservices/backend.synced", json=service)
    assert "DNS label" in (await invalid_fields(response))["name"]


@pytest.mark.parametrize("name", ["evil/../x", "a/b"])
async def test_the_manager_refuses_a_slash_in_a_name_and_a_dot_in_a_mesh(
    tmp_path: Path, name: str
) -> None:
    store = SqliteStore(tmp_path / "store.db")
    manager = ResourceManager(store, REGISTRY)
    try:
        await manager.apply(Resource("Mesh", "", "default", {}))
        spec = {"networking": dataplane(name)["networking"]}
        with pytest.raises(ValidationFailed) as refused:
            await manager.apply(Resource("Dataplane", "default", name, spec))
        with pytest.raises(ValidationFailed) as wrong_mesh:
            await manager.apply(Resource("Dataplane", "a.b", "web-1", spec))
    finally:
        await store.close()
    assert [v.field for v in refused.value.violations] == ["name"]
    assert [v.field for v in wrong_mesh.value.violations] == ["mesh"]
