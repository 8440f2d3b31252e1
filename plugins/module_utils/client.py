# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HTTP client for the control plane's Kuma-compatible REST API.

Only ``ansible.module_utils.urls`` is used, so modules need nothing beyond
ansible-core on the controller.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urljoin

from ansible.module_utils.urls import Request

from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import (
    MeshApiError,
    MeshError,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.type_facts import (
    TOP_LEVEL_TYPES,
)

PAGE_SIZE = 500


@dataclass(frozen=True)
class ResourceType:
    """One entry of ``GET /_resources``."""

    name: str
    path: str
    scope: str
    has_spec: bool

    @property
    def mesh_scoped(self) -> bool:
        return self.scope == "Mesh"


def _resource_type(entry: Mapping[str, Any]) -> ResourceType:
    # Kuma's /_resources has no hasSpec: then the generated facts say.
    has_spec = entry.get("hasSpec")
    if has_spec is None:
        has_spec = entry["name"] not in TOP_LEVEL_TYPES
    return ResourceType(entry["name"], entry["path"], entry["scope"], bool(has_spec))


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def version(self) -> str | None:
        """The ETag without quotes: the resource version for If-Match."""
        etag = self.headers.get("etag")
        return etag.strip('"') if etag else None


def read_token(token: str | None, token_file: str | None) -> str | None:
    if token:
        return token
    if not token_file:
        return None
    try:
        with open(token_file, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as exc:
        raise MeshError(f"cannot read token_file {token_file}: {exc}") from exc


class MeshClient:
    """Talks to one control plane; the type catalogue is fetched once per client."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        validate_certs: bool = True,
        timeout: int = 30,
    ) -> None:
        self.base_url = url.rstrip("/") + "/"
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = Request(headers=headers, validate_certs=validate_certs, timeout=timeout)
        self._types: dict[str, ResourceType] | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> MeshClient:
        """Build a client from the options of the ``auth`` doc fragment."""
        return cls(
            url=params["url"],
            token=read_token(params.get("token"), params.get("token_file")),
            validate_certs=params.get("validate_certs", True),
            timeout=params.get("timeout", 30),
        )

    # -- raw HTTP ---------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        if_match: str | None = None,
    ) -> Response:
        """Send one request; an error status raises MeshApiError."""
        url = urljoin(self.base_url, path.lstrip("/"))
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        try:
            raw = self._http.open(method, url, data=data, headers=headers)
            return Response(raw.status, _lower_keys(raw.headers), raw.read())
        except HTTPError as err:
            raise _api_error(method, url, err) from None
        except URLError as err:
            reason = f"cannot reach the control plane: {err.reason}"
            raise MeshError(f"{method} {url}: {reason}") from err

    def request_or_none(self, method: str, path: str, **kwargs: Any) -> Response | None:
        """Like ``request``, but None when the control plane answers 404."""
        try:
            return self.request(method, path, **kwargs)
        except MeshApiError as err:
            if err.status == 404:
                return None
            raise

    def post_text(self, path: str, body: Mapping[str, Any]) -> str:
        """POST a JSON body to an endpoint that answers with text (tokens)."""
        response = self.request("POST", path, body=body)
        return response.body.decode().strip()

    # -- type catalogue ---------------------------------------------------

    def types(self) -> dict[str, ResourceType]:
        if self._types is None:
            response = self.request("GET", "_resources")
            self._types = {
                entry["name"]: _resource_type(entry) for entry in response.json()["resources"]
            }
        return self._types

    def resource_type(self, name: str) -> ResourceType:
        known = self.types()
        if name not in known:
            raise MeshError(
                f"unknown resource type {name!r}; the control plane knows: "
                + ", ".join(sorted(known))
            )
        return known[name]

    def collection_path(self, rtype: ResourceType, mesh: str | None) -> str:
        if rtype.mesh_scoped:
            if not mesh:
                raise MeshError(f"{rtype.name} is mesh-scoped: a mesh is required")
            return f"meshes/{quote(mesh, safe='')}/{rtype.path}"
        return rtype.path

    def resource_path(self, rtype: ResourceType, name: str, mesh: str | None) -> str:
        return f"{self.collection_path(rtype, mesh)}/{quote(name, safe='')}"

    # -- resources --------------------------------------------------------

    def get(
        self, rtype: ResourceType, name: str, mesh: str | None
    ) -> tuple[dict[str, Any], str | None] | None:
        """The resource and its version, or None when absent."""
        response = self.request_or_none("GET", self.resource_path(rtype, name, mesh))
        if response is None:
            return None
        return response.json(), response.version

    def list_resources(
        self,
        rtype: ResourceType,
        mesh: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every resource of a type (in a mesh), following ``next`` links."""
        query: dict[str, Any] = {"size": PAGE_SIZE}
        for key, value in (labels or {}).items():
            query[f"filter[labels.{key}]"] = value
        path: str | None = self.collection_path(rtype, mesh)
        while path:
            response = self.request_or_none("GET", path, query=query)
            if response is None:
                return
            page = response.json()
            yield from page.get("items") or []
            path = page.get("next")
            # ``next`` already carries the query string of the following page.
            query = {}

    def put(
        self,
        rtype: ResourceType,
        resource: Mapping[str, Any],
        dry_run: bool = False,
        if_match: str | None = None,
    ) -> Response:
        path = self.resource_path(rtype, resource["name"], resource.get("mesh"))
        return self.request(
            "PUT",
            path,
            body=resource,
            query={"dryRun": "true"} if dry_run else None,
            if_match=if_match,
        )

    def delete(
        self, rtype: ResourceType, name: str, mesh: str | None, if_match: str | None = None
    ) -> bool:
        """Delete a resource; False if it was already gone."""
        path = self.resource_path(rtype, name, mesh)
        return self.request_or_none("DELETE", path, if_match=if_match) is not None

    def mesh_names(self) -> list[str]:
        return [mesh["name"] for mesh in self.list_resources(self.resource_type("Mesh"))]


def _lower_keys(headers: Any) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def _api_error(method: str, url: str, err: HTTPError) -> MeshApiError:
    """Turn an HTTP error into the control plane's error document, when it sent one."""
    request = f"{method} {url}"
    try:
        document = json.loads(err.read() or b"{}")
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    return MeshApiError(
        status=err.code,
        title=document.get("title") or str(err.reason),
        detail=document.get("detail", ""),
        invalid_parameters=document.get("invalid_parameters"),
        request=request,
    )
