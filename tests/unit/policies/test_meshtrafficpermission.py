from typing import Any

import pytest

from meshfabric.policies.meshtrafficpermission.api import Spec
from meshfabric.policies.meshtrafficpermission.rules import permissions_for
from meshfabric.resources import Parsed, Resource
from meshfabric.xds.model.proxy import Proxy

BACKEND = Proxy.from_resource(
    Resource(
        "Dataplane",
        "default",
        "backend-1",
        {
            "networking": {
                "address": "10.0.0.2",
                "inbound": [{"port": 8080, "tags": {"kuma.io/service": "backend"}}],
            }
        },
    )
)


def mtp(name: str, target: dict[str, Any], *entries: tuple[dict[str, Any], str]) -> Parsed[Spec]:
    spec = {
        "targetRef": target,
        "from": [{"targetRef": ref, "default": {"action": action}} for ref, action in entries],
    }
    return Parsed.of(Resource("MeshTrafficPermission", "default", name, spec), Spec)


MESH = {"kind": "Mesh"}
WEB = {"kind": "MeshService", "name": "web"}


def allowed(policies: list[Parsed[Spec]], caller: str) -> bool:
    permissions = permissions_for(BACKEND, BACKEND.inbounds[0], policies)
    return permissions.services.get(caller, permissions.mesh_allowed)


def test_nobody_may_call_without_a_permission() -> None:
    assert not allowed([], "web")


def test_a_permission_for_one_service_allows_only_that_service() -> None:
    policies = [mtp("web-to-backend", {"kind": "MeshService", "name": "backend"}, (WEB, "Allow"))]
    assert allowed(policies, "web")
    assert not allowed(policies, "billing")


def test_a_service_entry_wins_over_the_mesh_wide_one() -> None:
    policies = [mtp("open", MESH, (MESH, "Allow")), mtp("no-web", MESH, (WEB, "Deny"))]
    assert allowed(policies, "billing")
    assert not allowed(policies, "web")


def test_the_more_specific_policy_wins_between_equal_entries() -> None:
    backend = {"kind": "MeshService", "name": "backend"}
    policies = [mtp("z-mesh", MESH, (WEB, "Deny")), mtp("a-backend", backend, (WEB, "Allow"))]
    assert allowed(policies, "web")


def test_policies_for_other_services_do_not_apply() -> None:
    policies = [mtp("web-only", {"kind": "MeshService", "name": "web"}, (MESH, "Allow"))]
    assert not allowed(policies, "web")


@pytest.mark.parametrize("action", ["Allow", "AllowWithShadowDeny"])
def test_allowing_actions(action: str) -> None:
    assert allowed([mtp("p", MESH, (WEB, action))], "web")


def test_a_subset_that_identity_cannot_tell_apart_is_ignored() -> None:
    version = {"kind": "MeshSubset", "tags": {"version": "v2"}}
    assert not allowed([mtp("p", MESH, (version, "Allow"))], "web")
