"""The REST API as a Kuma user's tooling sees it: paths, status codes, versions, errors."""

from __future__ import annotations

from typing import Any

import httpx

from tests.unit.api.conftest import MakeClient

MESH = {"type": "Mesh", "name": "default"}


def allow_all(action: str = "Allow", **extra: Any) -> dict[str, Any]:
    return {
        "type": "MeshTrafficPermission",
        "mesh": "default",
        "name": "allow-all",
        "spec": {
            "targetRef": {"kind": "Mesh"},
            "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": action}}],
        },
        **extra,
    }


MTP = "/meshes/default/meshtrafficpermissions/allow-all"


async def with_mesh(api: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await api.put("/meshes/default", json=MESH)).status_code == 201
    return api


async def test_put_creates_then_updates_then_reads_back(api: httpx.AsyncClient) -> None:
    await with_mesh(api)
    created = await api.put(MTP, json=allow_all())
    assert created.status_code == 201 and created.headers["etag"] == '"1"'
    updated = await api.put(MTP, json=allow_all("Deny"))
    assert updated.status_code == 200 and updated.json()["outcome"] == "updated"
    read = await api.get(MTP)
    assert read.headers["etag"] == '"2"'
    body = read.json()
    assert body["spec"] == allow_all("Deny")["spec"]
    assert {"creationTime", "modificationTime"} <= body.keys()


async def test_unchanged_put_keeps_the_version(api: httpx.AsyncClient) -> None:
    await with_mesh(api)
    await api.put(MTP, json=allow_all())
    again = await api.put(MTP, json=allow_all())
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    assert again.headers["etag"] == '"1"'


async def test_read_only_fields_sent_back_are_ignored(api: httpx.AsyncClient) -> None:
    await with_mesh(api)
    await api.put(MTP, json=allow_all())
    read = (await api.get(MTP)).json()
    again = await api.put(MTP, json=read)
    assert again.json()["outcome"] == "unchanged"


async def test_stale_if_match_is_a_conflict(api: httpx.AsyncClient) -> None:
    await with_mesh(api)
    await api.put(MTP, json=allow_all())
    await api.put(MTP, json=allow_all("Deny"), headers={"If-Match": '"1"'})
    stale = await api.put(MTP, json=allow_all("Allow"), headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert stale.json()["type"] == "/std-errors" and "version 2" in stale.json()["detail"]
    assert (await api.get(MTP)).json()["spec"]["from"][0]["default"]["action"] == "Deny"


async def test_dry_run_answers_like_a_write_without_writing(api: httpx.AsyncClient) -> None:
    await with_mesh(api)
    dry = await api.put(MTP, json=allow_all(), params={"dryRun": "true"})
    assert dry.status_code == 201 and dry.json()["outcome"] == "created"
    assert (await api.get(MTP)).status_code == 404


async def test_invalid_resource_names_the_field(api: httpx.AsyncClient) -> None:
    await with_mesh(api)
    bad = allow_all()
    bad["spec"]["from"][0]["targetRef"]["kind"] = "MeshHTTPRoute"
    bad["spec"]["from"][0]["default"]["actoin"] = "Allow"
    response = await api.put(MTP, json=bad)
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Could not process a resource"
    fields = {p["field"]: p["reason"] for p in body["invalid_parameters"]}
    assert "spec.from[0].default.actoin" in fields
    assert (await api.get(MTP)).status_code == 404


async def test_semantic_errors_name_the_field(api: httpx.AsyncClient) -> None:
    await with_mesh(api)
    bad = allow_all()
    bad["spec"]["from"][0]["targetRef"]["kind"] = "MeshHTTPRoute"
    response = await api.put(MTP, json=bad)
    assert response.status_code == 400
    assert response.json()["invalid_parameters"][0]["field"] == "spec.from[0].targetRef.kind"


async def test_name_in_body_must_match_the_path(api: httpx.AsyncClient) -> None:
    await with_mesh(api)
    response = await api.put("/meshes/default/meshtrafficpermissions/other", json=allow_all())
    assert response.status_code == 400
    assert response.json()["invalid_parameters"] == [
        {"field": "name", "reason": "name from the URL has to be the same as in body"}
    ]


async def test_resource_in_a_missing_mesh_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.put(MTP, json=allow_all())
    assert response.status_code == 400
    assert response.json()["invalid_parameters"][0]["field"] == "mesh"


async def test_deleting_a_mesh_deletes_what_lives_in_it(api: httpx.AsyncClient) -> None:
    await with_mesh(api)
    await api.put(MTP, json=allow_all())
    assert (await api.delete("/meshes/default")).status_code == 200
    assert (await api.get(MTP)).status_code == 404
    assert (await api.delete("/meshes/default")).status_code == 404


async def test_list_pages_with_next_and_label_filters(api: httpx.AsyncClient) -> None:
    await with_mesh(api)
    for index in range(5):
        body = allow_all(name=f"p{index}", labels={"team": "a" if index < 3 else "b"})
        await api.put(f"/meshes/default/meshtrafficpermissions/p{index}", json=body)
    first = (await api.get("/meshes/default/meshtrafficpermissions", params={"size": 2})).json()
    assert first["total"] == 5 and [i["name"] for i in first["items"]] == ["p0", "p1"]
    second = (await api.get(first["next"])).json()
    assert [i["name"] for i in second["items"]] == ["p2", "p3"]
    team_b = await api.get(
        "/meshes/default/meshtrafficpermissions", params={"filter[labels.team]": "b"}
    )
    assert [i["name"] for i in team_b.json()["items"]] == ["p3", "p4"]
    assert team_b.json()["next"] is None


async def test_requests_without_a_valid_token_are_refused(api: httpx.AsyncClient) -> None:
    anonymous = await api.get("/meshes", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.json()["type"] == "/std-errors"
    forged = await api.get("/meshes", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401
    assert (await api.get("/")).status_code == 200, "the index stays open for health checks"


async def test_read_only_tokens_cannot_write(make_client: MakeClient) -> None:
    reader = await make_client(groups=("mesh-system:readers",))
    assert (await reader.get("/meshes")).status_code == 200
    refused = await reader.put("/meshes/default", json=MESH)
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]


async def test_issued_read_only_token_works(api: httpx.AsyncClient) -> None:
    token = await api.post("/tokens/user", json={"name": "viewer", "groups": ["viewers"]})
    assert token.status_code == 200
    headers = {"Authorization": f"Bearer {token.text}"}
    assert (await api.get("/meshes", headers=headers)).status_code == 200
    assert (
        await api.put("/meshes/x", json=MESH | {"name": "x"}, headers=headers)
    ).status_code == 403


async def test_federated_zone_refuses_what_global_owns(make_client: MakeClient) -> None:
    zone = await make_client(
        zone={
            "name": "us-east-1",
            "global_address": "grpcs://global:5685",
            "token_file": "us-east-1.token",
        }
    )
    refused = await zone.put("/meshes/default", json=MESH)
    assert refused.status_code == 400
    assert "global control plane" in refused.json()["detail"]


async def test_global_refuses_what_zones_register(make_client: MakeClient) -> None:
    global_cp = await make_client(mode="global")
    await global_cp.put("/meshes/default", json=MESH)
    dataplane = {
        "type": "Dataplane",
        "mesh": "default",
        "name": "web-1",
        "networking": {
            "address": "10.0.0.1",
            "inbound": [{"port": 8080, "tags": {"kuma.io/service": "web"}}],
        },
    }
    refused = await global_cp.put("/meshes/default/dataplanes/web-1", json=dataplane)
    assert refused.status_code == 400 and "zone control plane" in refused.json()["detail"]


async def test_global_labels_what_it_owns(make_client: MakeClient) -> None:
    global_cp = await make_client(mode="global")
    await global_cp.put("/meshes/default", json=MESH)
    assert (await global_cp.get("/meshes/default")).json()["labels"] == {"kuma.io/origin": "global"}


async def test_catalogue_lists_every_type(api: httpx.AsyncClient) -> None:
    catalogue = (await api.get("/_resources")).json()["resources"]
    by_name = {entry["name"]: entry for entry in catalogue}
    assert by_name["MeshTrafficPermission"]["path"] == "meshtrafficpermissions"
    assert by_name["Mesh"]["scope"] == "Global"
    assert len(by_name) == 20


async def test_catalogue_serves_every_fact_of_the_descriptors(api: httpx.AsyncClient) -> None:
    catalogue = (await api.get("/_resources")).json()["resources"]
    by_name = {entry["name"]: entry for entry in catalogue}
    mtp, mesh = by_name["MeshTrafficPermission"], by_name["Mesh"]
    assert (mtp["shortName"], mtp["hasSpec"], mtp["affects"]) == ("mtp", True, "Selected")
    assert (mesh["shortName"], mesh["hasSpec"], mesh["affects"]) == (None, False, "OwnMesh")
    assert by_name["Secret"]["sensitive"] and not mtp["sensitive"]
    assert mesh["applyOrder"] < by_name["Dataplane"]["applyOrder"] < mtp["applyOrder"]
    assert by_name["MeshService"]["kdsFlags"] == ["ZONE_TO_ZONES"]
    assert [entry["applyOrder"] for entry in catalogue] == sorted(
        entry["applyOrder"] for entry in catalogue
    )


async def test_openapi_document_describes_each_type(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    assert "/meshes/{mesh}/meshtimeouts/{name}" in document["paths"]
    assert "MeshTimeoutItem" in document["components"]["schemas"]


async def test_unknown_path_is_a_404_in_the_error_format(api: httpx.AsyncClient) -> None:
    response = await api.get("/meshes/default/nosuchthings")
    assert response.status_code == 404 and response.json()["type"] == "/std-errors"


async def test_a_mesh_read_back_with_status_is_accepted_as_api_md_says(
    api: httpx.AsyncClient,
) -> None:
    await with_mesh(api)
    read = (await api.get("/meshes/default")).json()
    again = await api.put("/meshes/default", json={**read, "status": {"anything": 1}})
    assert again.status_code == 200, again.json()["invalid_parameters"]
    assert again.json()["outcome"] == "unchanged"
    assert "status" not in (await api.get("/meshes/default")).json()
