"""A small typed client of the control plane's REST API, shared by every command.

Parameters of ControlPlaneClient:
    address: base URL of the API, e.g. http://127.0.0.1:5681 or https://cp.internal:5682
    token: a user token, sent as `Authorization: Bearer <token>`
    ca_cert_file: PEM file of the CA an https address's certificate is checked against
        (default: the system's trusted CAs)
    transport: an httpx transport; tests pass httpx.MockTransport to run without a server
    hints: what to do next about an answer's status, in place of the usual advice
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import httpx

from meshfabric.cli.catalogue import Catalogue, ResourceTypeInfo
from meshfabric.cli.errors import ApiError, InvalidParameter, MeshctlError

Json = dict[str, Any]
PAGE_SIZE = 500


class ControlPlaneClient:
    def __init__(
        self,
        address: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        ca_cert_file: str | None = None,
        transport: httpx.BaseTransport | None = None,
        hints: Mapping[int, str] | None = None,
    ) -> None:
        self.address = address.rstrip("/")
        self._hints = hints or {}
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.address,
            headers=headers,
            timeout=timeout,
            verify=_trust(ca_cert_file),
            transport=transport,
        )
        self._catalogue: Catalogue | None = None

    def __enter__(self) -> ControlPlaneClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            listed = self._json("GET", "/_resources")["resources"]
            self._catalogue = Catalogue(ResourceTypeInfo.from_json(entry) for entry in listed)
        return self._catalogue

    def get(self, rtype: ResourceTypeInfo, mesh: str, name: str) -> Json | None:
        """One resource, or None when it does not exist."""
        try:
            return self._json("GET", _item_path(rtype, mesh, name))
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def list_all(
        self, rtype: ResourceTypeInfo, mesh: str | None, labels: Mapping[str, str] | None = None
    ) -> Iterator[Json]:
        """Every item, following `next` page by page; mesh None lists all meshes."""
        yield from self._follow(_list_path(rtype, mesh), _label_filters(labels))

    def list_page(
        self,
        rtype: ResourceTypeInfo,
        mesh: str | None,
        labels: Mapping[str, str] | None,
        size: int,
        offset: int,
    ) -> Json:
        """One page as the API answers it: {total, items, next}."""
        params = {**_label_filters(labels), "size": size, "offset": offset}
        return self._json("GET", _list_path(rtype, mesh), params=params)

    def server_info(self) -> Json:
        """The control plane's identity: product, version, mode, zone."""
        return self._json("GET", "/")

    def dataplane_overviews(self, mesh: str) -> Iterator[Json]:
        """Every Dataplane of a mesh with its insight (Kuma's DataplaneOverview)."""
        yield from self._follow(f"/meshes/{quote(mesh, safe='')}/dataplanes/_overview", {})

    def _follow(self, path: str, params: Mapping[str, str]) -> Iterator[Json]:
        page = self._json("GET", path, params={**params, "size": PAGE_SIZE})
        yield from page["items"]
        while page.get("next"):
            page = self._json("GET", _same_server(page["next"]))
            yield from page["items"]

    def put(self, rtype: ResourceTypeInfo, resource: Json, *, dry_run: bool = False) -> Json:
        """Upsert; the answer carries `outcome`: created, updated or unchanged."""
        path = _item_path(rtype, resource.get("mesh", ""), resource["name"])
        params = {"dryRun": "true"} if dry_run else {}
        return self._json("PUT", path, json=resource, params=params)

    def delete(self, rtype: ResourceTypeInfo, mesh: str, name: str) -> None:
        self._request("DELETE", _item_path(rtype, mesh, name))

    def issue_token(self, kind: Literal["user", "zone", "dataplane"], request: Json) -> str:
        return self._request("POST", f"/tokens/{kind}", json=request).text

    def dataplane_config(self, mesh: str, name: str) -> Json:
        """The Envoy config generated for a dataplane, and the policies that matched."""
        return self._json("GET", f"/meshes/{quote(mesh)}/dataplanes/{quote(name)}/_config")

    def envoy_admin(self, mesh: str, name: str, what: str, include_eds: bool = False) -> str:
        """What the dataplane's Envoy reports: `xds` (its config dump), `stats`, `clusters`."""
        params = {"include_eds": "true"} if include_eds else {}
        path = f"/meshes/{quote(mesh, safe='')}/dataplanes/{quote(name, safe='')}/{what}"
        return self._request("GET", path, params=params).text

    def zones_overview(self) -> list[Json]:
        items: list[Json] = self._json("GET", "/zones/_overview")["items"]
        return items

    def _json(self, method: str, path: str, **kwargs: Any) -> Json:
        try:
            body: Json = self._request(method, path, **kwargs).json()
        except ValueError:
            raise MeshctlError(
                f"{self.address}{path} did not answer with JSON; "
                "is this the address of a control plane's API?"
            ) from None
        return body

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise MeshctlError(self._unreachable(error)) from None
        if response.is_error:
            raise _api_error(response, self._hints.get(response.status_code))
        return response

    def _unreachable(self, error: httpx.TransportError) -> str:
        reason = "connection refused" if "refused" in str(error).lower() else str(error)
        if isinstance(error, httpx.TimeoutException):
            reason = "no answer in time"
        if "CERTIFICATE_VERIFY_FAILED" in str(error):
            reason = (
                "its certificate is not trusted; give its CA with "
                "`meshctl config control-planes add --ca-cert-file` (for a generated "
                "certificate: <data_dir>/api-ca.crt of the control plane)"
            )
        return (
            f"cannot reach the control plane at {self.address}: {reason or type(error).__name__} "
            "(is it running? `meshctl config control-planes list` shows the address in use)"
        )


def _label_filters(labels: Mapping[str, str] | None) -> dict[str, str]:
    return {f"filter[labels.{key}]": value for key, value in (labels or {}).items()}


def _trust(ca_cert_file: str | None) -> ssl.SSLContext | bool:
    if ca_cert_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=ca_cert_file)
    except (OSError, ssl.SSLError) as error:
        raise MeshctlError(f"cannot use the CA certificate {ca_cert_file}: {error}") from None


def _item_path(rtype: ResourceTypeInfo, mesh: str, name: str) -> str:
    return f"{_list_path(rtype, mesh)}/{quote(name, safe='')}"


def _list_path(rtype: ResourceTypeInfo, mesh: str | None) -> str:
    if rtype.mesh_scoped and mesh is not None:
        return f"/meshes/{quote(mesh, safe='')}/{rtype.path}"
    return f"/{rtype.path}"


def _same_server(next_url: str) -> str:
    """Keep only path and query: the server may name itself by an address we cannot reach."""
    return httpx.URL(next_url).raw_path.decode("ascii")


def _api_error(response: httpx.Response, hint: str | None) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip()[:200]
        return ApiError(response.status_code, response.reason_phrase, text, hint=hint)
    invalid = tuple(
        InvalidParameter(str(item.get("field", "")), str(item.get("reason", "")))
        for item in body.get("invalid_parameters") or ()
    )
    title = str(body.get("title") or response.reason_phrase)
    detail = str(body.get("detail") or "")
    return ApiError(response.status_code, title, detail, invalid, hint=hint)
