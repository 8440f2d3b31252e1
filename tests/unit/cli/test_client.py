"""The client against httpx.MockTransport: requests it sends, answers it understands."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from meshfabric.cli.client import ControlPlaneClient
from meshfabric.cli.errors import ApiError, InvalidParameter, MeshctlError
from tests.unit.cli.conftest import MESH, MTP

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler) -> ControlPlaneClient:
    return ControlPlaneClient("http://cp.test", "t0ken", transport=httpx.MockTransport(handler))


def test_list_follows_next_by_path_even_when_the_server_names_another_host() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        assert request.headers["Authorization"] == "Bearer t0ken"
        if request.url.params.get("offset") == "1":
            return httpx.Response(200, json={"total": 2, "items": [{"name": "b"}], "next": None})
        following = "http://internal-name:5681/meshes/m/meshtrafficpermissions?offset=1&size=1"
        return httpx.Response(200, json={"total": 2, "items": [{"name": "a"}], "next": following})

    items = list(_client(handler).list_all(MTP, "m", {"team": "flight"}))
    assert [item["name"] for item in items] == ["a", "b"]
    assert seen[0] == (
        "http://cp.test/meshes/m/meshtrafficpermissions?filter%5Blabels.team%5D=flight&size=500"
    )
    assert seen[1] == "http://cp.test/meshes/m/meshtrafficpermissions?offset=1&size=1"


def test_paths_of_global_types_and_of_all_meshes_have_no_mesh_segment() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, json={"total": 0, "items": [], "next": None})

    client = _client(handler)
    list(client.list_all(MESH, "ignored"))
    list(client.list_all(MTP, None))
    assert paths == ["/meshes", "/meshtrafficpermissions"]


def test_put_sends_dry_run_and_get_maps_404_to_none() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(404, json={"status": 404, "title": "Not found"})
        assert request.url.params["dryRun"] == "true"
        assert request.url.raw_path == b"/meshes/a%2Fb/meshtrafficpermissions/x?dryRun=true"
        return httpx.Response(200, json={"outcome": "unchanged"})

    client = _client(handler)
    assert client.get(MTP, "m", "x") is None
    body = {"type": "MeshTrafficPermission", "mesh": "a/b", "name": "x"}
    assert client.put(MTP, body, dry_run=True) == {"outcome": "unchanged"}


def test_errors_carry_the_servers_field_paths() -> None:
    problem = {
        "type": "/std-errors",
        "status": 400,
        "title": "Could not process a resource",
        "detail": "Resource is not valid",
        "invalid_parameters": [{"field": "spec.from[0].default.action", "reason": "bad"}],
    }
    client = _client(lambda request: httpx.Response(400, json=problem))
    with pytest.raises(ApiError) as raised:
        client.delete(MTP, "m", "x")
    assert raised.value.invalid_parameters == (
        InvalidParameter("spec.from[0].default.action", "bad"),
    )
    assert raised.value.describe("MeshTrafficPermission m/x") == (
        "MeshTrafficPermission m/x: Resource is not valid\n  spec.from[0].default.action: bad"
    )


def test_an_error_without_the_error_format_still_reads_well() -> None:
    client = _client(lambda request: httpx.Response(502, text="<html>Bad Gateway</html>"))
    with pytest.raises(ApiError, match="<html>Bad Gateway</html>") as raised:
        client.zones_overview()
    assert raised.value.status == 502


def test_401_says_what_to_do_about_the_token() -> None:
    problem = {"status": 401, "title": "Unauthenticated", "detail": "the token is not valid"}
    client = _client(lambda request: httpx.Response(401, json=problem))
    with pytest.raises(ApiError, match=r"the token is not valid .*--overwrite"):
        client.catalogue()


def test_an_unreachable_control_plane_is_one_sentence_naming_its_address() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    with pytest.raises(MeshctlError, match=r"at http://cp\.test: connection refused"):
        _client(refuse).catalogue()


def test_a_server_that_is_not_a_control_plane_is_named_as_such() -> None:
    client = _client(lambda request: httpx.Response(200, text="<html>welcome</html>"))
    with pytest.raises(MeshctlError, match="is this the address of a control plane's API"):
        client.catalogue()
