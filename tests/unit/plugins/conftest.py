# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An in-memory control plane behind the MeshClient interface.

It keeps the contract the modules rely on (types from /_resources, versions,
PUT outcomes, dry runs, Kuma-style validation errors) so service and module
logic can be tested without a server; the integration tests use the real one.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from ansible_collections.meshfabric.mesh.plugins.module_utils.client import (
    MeshClient,
    ResourceType,
    Response,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import MeshApiError

TYPES = [
    ResourceType("Mesh", "meshes", "Global", False),
    ResourceType("GlobalSecret", "global-secrets", "Global", False),
    ResourceType("Secret", "secrets", "Mesh", False),
    ResourceType("MeshService", "meshservices", "Mesh", True),
    ResourceType("MeshMultiZoneService", "meshmultizoneservices", "Mesh", True),
    ResourceType("MeshTrafficPermission", "meshtrafficpermissions", "Mesh", True),
    ResourceType("MeshTimeout", "meshtimeouts", "Mesh", True),
]
TARGET_KINDS = ("Mesh", "MeshSubset", "MeshService")
Key = tuple[str, str | None, str]


class FakeControlPlane(MeshClient):
    """Stores resources in a dict; ``writes`` records every real PUT and DELETE."""

    def __init__(self, defaults: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        super().__init__("http://fake.invalid")
        self._types = {rtype.name: rtype for rtype in TYPES}
        self.store: dict[Key, tuple[dict[str, Any], int]] = {}
        self.writes: list[tuple[str, Key]] = []
        # Spec fields the fake fills in, per type, like a server with defaults.
        self.defaults = defaults or {}
        self.tokens: list[Mapping[str, Any]] = []

    # What the modules call --------------------------------------------------

    def get(self, rtype: ResourceType, name: str, mesh: str | None) -> Any:
        entry = self.store.get((rtype.name, mesh, name))
        return (copy.deepcopy(entry[0]), str(entry[1])) if entry else None

    def list_resources(
        self,
        rtype: ResourceType,
        mesh: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        for (type_name, item_mesh, _name), (resource, _version) in sorted(self.store.items()):
            selected = (labels or {}).items() <= resource["labels"].items()
            if type_name == rtype.name and item_mesh == mesh and selected:
                yield copy.deepcopy(resource)

    def put(
        self,
        rtype: ResourceType,
        resource: Mapping[str, Any],
        dry_run: bool = False,
        if_match: str | None = None,
    ) -> Response:
        key = (rtype.name, resource.get("mesh"), resource["name"])
        self._validate(rtype, resource)
        stored = self._stored_form(rtype, resource)
        previous = self.store.get(key)
        if if_match is not None and previous and str(previous[1]) != if_match:
            raise MeshApiError(409, "Conflict", "the resource changed")
        if previous is None:
            outcome, status = "created", 201
        elif previous[0] == stored:
            outcome, status = "unchanged", 200
        else:
            outcome, status = "updated", 200
        if not dry_run:
            self.writes.append(("PUT", key))
            self.store[key] = (stored, (previous[1] + 1) if previous else 1)
        return Response(status, {}, _json({"outcome": outcome, **stored}))

    def delete(
        self, rtype: ResourceType, name: str, mesh: str | None, if_match: str | None = None
    ) -> bool:
        key = (rtype.name, mesh, name)
        if key not in self.store:
            return False
        self.writes.append(("DELETE", key))
        del self.store[key]
        if rtype.name == "Mesh":
            for other in [k for k in self.store if k[1] == name]:
                del self.store[other]
        return True

    def post_text(self, path: str, body: Mapping[str, Any]) -> str:
        self.tokens.append({"path": path, **body})
        return make_jwt({"jti": f"id-{len(self.tokens)}"})

    # Helpers for tests ----------------------------------------------------------

    def seed(self, resource: dict[str, Any]) -> None:
        rtype = self._types[resource["type"]]
        key = (rtype.name, resource.get("mesh"), resource["name"])
        self.store[key] = (self._stored_form(rtype, resource), 1)

    def _stored_form(self, rtype: ResourceType, resource: Mapping[str, Any]) -> dict[str, Any]:
        stored = copy.deepcopy(dict(resource))
        stored.setdefault("labels", {})
        if rtype.has_spec:
            stored["spec"] = {**self.defaults.get(rtype.name, {}), **stored.get("spec", {})}
        return stored

    def _validate(self, rtype: ResourceType, resource: Mapping[str, Any]) -> None:
        if rtype.mesh_scoped and ("Mesh", None, resource.get("mesh")) not in self.store:
            raise MeshApiError(
                400,
                "Could not process a resource",
                "Resource is not valid",
                [{"field": "mesh", "reason": f"mesh of name {resource.get('mesh')} is not found"}],
            )
        kind = (resource.get("spec") or {}).get("targetRef", {}).get("kind", "Mesh")
        if kind not in TARGET_KINDS:
            raise MeshApiError(
                400,
                "Could not process a resource",
                "Resource is not valid",
                [
                    {
                        "field": "spec.targetRef.kind",
                        "reason": "must be one of " + ", ".join(TARGET_KINDS),
                    }
                ],
            )


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()


def make_jwt(claims: Mapping[str, Any]) -> str:
    def part(data: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.signature"


@pytest.fixture
def fake_cp() -> FakeControlPlane:
    return FakeControlPlane()


@pytest.fixture
def make_fake_cp() -> type[FakeControlPlane]:
    """The fake's class, for tests that configure it (server defaults)."""
    return FakeControlPlane
