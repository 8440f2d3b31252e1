"""Kuma-invalid resources of the non-policy types are refused through the API, nothing stored,
with the field paths Kuma reports (cases from tests/unit/resources/kuma_parity/), and the
change Kuma's mesh manager refuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from meshfabric.resources import REGISTRY, Scope
from tests.unit.resources.test_kuma_parity import cases


def _first_per_type(count: int) -> list[Any]:
    """The first cases of each type's table: a few per type is what the API adds to them."""
    taken: dict[str, int] = {}
    chosen = []
    for case in cases():
        type_name = case.values[0]
        if taken.get(type_name, 0) < count:
            taken[type_name] = taken.get(type_name, 0) + 1
            chosen.append(case)
    return chosen


def document(type_name: str, fields: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rtype = REGISTRY.get(type_name)
    body: dict[str, Any] = {"type": type_name, "name": "invalid"}
    if rtype.scope is Scope.MESH:
        body["mesh"] = "default"
        path = f"/meshes/default/{rtype.plural}/invalid"
    else:
        path = f"/{rtype.plural}/invalid"
    if rtype.has_spec:
        body["spec"] = fields
    else:
        body.update(fields)
    return path, body


@pytest.mark.parametrize(("type_name", "case"), _first_per_type(3))
async def test_refused_with_kumas_field_paths(
    api: httpx.AsyncClient, type_name: str, case: dict[str, Any]
) -> None:
    assert (await api.put("/meshes/default", json={"type": "Mesh", "name": "default"})).is_success
    path, body = document(type_name, case["input"])
    response = await api.put(path, json=body)
    assert response.status_code == 400, response.text
    refused = [
        {"field": item["field"], "message": item["reason"]}
        for item in response.json()["invalid_parameters"]
    ]
    assert refused == case["violations"]
    assert (await api.get(path)).status_code == 404


def mtls_mesh(backend: str | None) -> dict[str, Any]:
    mtls: dict[str, Any] = {"backends": [{"name": backend or "ca-1", "type": "builtin"}]}
    if backend:
        mtls["enabledBackend"] = backend
    return {"type": "Mesh", "name": "default", "mtls": mtls}


async def test_the_ca_changes_only_with_mtls_off(api: httpx.AsyncClient) -> None:
    """Kuma's mesh manager: proxies trust one CA, so switching it while in use is refused."""
    assert (await api.put("/meshes/default", json=mtls_mesh("ca-1"))).status_code == 201
    switched = await api.put("/meshes/default", json=mtls_mesh("ca-2"))
    assert switched.status_code == 400
    assert switched.json()["invalid_parameters"] == [
        {
            "field": "mtls.enabledBackend",
            "reason": "Changing CA when mTLS is enabled is forbidden. Disable mTLS first and "
            "then change the CA",
        }
    ]
    assert (await api.get("/meshes/default")).json()["mtls"]["enabledBackend"] == "ca-1"
    assert (await api.put("/meshes/default", json=mtls_mesh(None))).status_code == 200
    assert (await api.put("/meshes/default", json=mtls_mesh("ca-2"))).status_code == 200
