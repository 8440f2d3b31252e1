# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The client against a small HTTP server on loopback that answers like the control plane."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.meshfabric.mesh.plugins.module_utils.client import MeshClient, read_token
from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import (
    MeshApiError,
    MeshError,
)

TYPES = {
    "resources": [
        {"name": "Mesh", "path": "meshes", "scope": "Global", "hasSpec": False},
        {"name": "MeshTimeout", "path": "meshtimeouts", "scope": "Mesh"},
    ]
}


class Handler(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]]

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.requests.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers),
                "body": json.loads(self.rfile.read(length)) if length else None,
            }
        )

    def do_GET(self) -> None:
        self._record()
        if self.path == "/_resources":
            self._answer(200, TYPES)
        elif self.path.startswith("/meshes/default/meshtimeouts?"):
            page = {"total": 3, "items": [{"name": "a"}, {"name": "b"}], "next": "/page2"}
            self._answer(200, page)
        elif self.path == "/page2":
            self._answer(200, {"total": 3, "items": [{"name": "c"}], "next": None})
        elif self.path == "/meshes/default/meshtimeouts/t1":
            self._answer(200, {"name": "t1"}, {"ETag": '"7"'})
        else:
            self._answer(404, {"status": 404, "title": "Not found"})

    def do_PUT(self) -> None:
        self._record()
        self._answer(
            400,
            {
                "type": "/std-errors",
                "status": 400,
                "title": "Could not process a resource",
                "detail": "Resource is not valid",
                "invalid_parameters": [{"field": "spec.targetRef.kind", "reason": "bad kind"}],
            },
        )

    def do_DELETE(self) -> None:
        self._record()
        self._answer(404, {"status": 404, "title": "Not found"})

    def log_message(self, *args: Any) -> None:
        """Keep test output quiet."""


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    requests: list[dict[str, Any]] = []
    handler = type("RecordingHandler", (Handler,), {"requests": requests})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


def test_types_are_read_once_and_paths_built_from_them(server: Any) -> None:
    url, requests = server
    client = MeshClient(url, token="secret")
    mesh = client.resource_type("Mesh")
    timeout = client.resource_type("MeshTimeout")
    assert (mesh.has_spec, timeout.has_spec, timeout.mesh_scoped) == (False, True, True)
    assert client.resource_path(timeout, "a b", "default") == "meshes/default/meshtimeouts/a%20b"
    assert [r["path"] for r in requests] == ["/_resources"]
    assert requests[0]["headers"]["Authorization"] == "Bearer secret"


def test_unknown_type_names_the_known_ones(server: Any) -> None:
    with pytest.raises(MeshError, match="knows: Mesh, MeshTimeout"):
        MeshClient(server[0]).resource_type("MeshTimout")


def test_get_returns_the_version_and_none_when_absent(server: Any) -> None:
    client = MeshClient(server[0])
    timeout = client.resource_type("MeshTimeout")
    assert client.get(timeout, "t1", "default") == ({"name": "t1"}, "7")
    assert client.get(timeout, "nope", "default") is None


def test_list_follows_next_links(server: Any) -> None:
    client = MeshClient(server[0])
    items = client.list_resources(client.resource_type("MeshTimeout"), "default", {"team": "ops"})
    assert [item["name"] for item in items] == ["a", "b", "c"]
    assert "filter%5Blabels.team%5D=ops" in server[1][1]["path"]


def test_error_document_becomes_a_field_error(server: Any) -> None:
    client = MeshClient(server[0])
    timeout = client.resource_type("MeshTimeout")
    with pytest.raises(MeshApiError) as failure:
        client.put(timeout, {"name": "t1", "mesh": "default"}, dry_run=True, if_match="3")
    assert failure.value.status == 400
    assert failure.value.invalid_parameters == [
        {"field": "spec.targetRef.kind", "reason": "bad kind"}
    ]
    assert "spec.targetRef.kind: bad kind" in failure.value.msg
    put = server[1][-1]
    assert put["path"] == "/meshes/default/meshtimeouts/t1?dryRun=true"
    assert put["headers"]["If-Match"] == '"3"'


def test_delete_of_an_absent_resource_is_not_an_error(server: Any) -> None:
    client = MeshClient(server[0])
    assert client.delete(client.resource_type("Mesh"), "gone", None) is False


def test_unreachable_control_plane_says_so() -> None:
    with pytest.raises(MeshError, match="cannot reach the control plane"):
        MeshClient("http://127.0.0.1:9", timeout=2).types()


def test_token_file_is_read_and_stripped(tmp_path: Path) -> None:
    path = tmp_path / "admin-token"
    path.write_text("abc\n")
    assert read_token(None, str(path)) == "abc"
    assert read_token("given", str(path)) == "given"
    with pytest.raises(MeshError, match="cannot read token_file"):
        read_token(None, str(tmp_path / "missing"))
