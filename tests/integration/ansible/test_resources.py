"""meshfabric.mesh.resources and resource against a real control plane, through ansible-playbook."""

from __future__ import annotations

from typing import Any

from tests.integration.ansible.conftest import (
    Ansible,
    PlaybookRun,
    names,
    request,
    token_file,
)
from tests.support.control_plane import ControlPlane

MESH = {"type": "Mesh", "name": "default"}
PERMISSIONS = "/meshes/default/meshtrafficpermissions"


def permission(name: str, service: str = "web", kind: str = "MeshSubset") -> dict[str, Any]:
    return {
        "type": "MeshTrafficPermission",
        "name": name,
        "mesh": "default",
        "spec": {
            "targetRef": {"kind": "Mesh"},
            "from": [
                {
                    "targetRef": {"kind": kind, "tags": {"kuma.io/service": service}},
                    "default": {"action": "Allow"},
                }
            ],
        },
    }


def apply(
    ansible: Ansible,
    cp: ControlPlane,
    resources: list[dict[str, Any]],
    check: bool = False,
    **options: Any,
) -> PlaybookRun:
    task = {"name": "apply", "meshfabric.mesh.resources": {"resources": resources, **options}}
    return ansible.playbook([task], check=check, control_plane=cp)


def outcomes(run: PlaybookRun) -> list[tuple[str, str]]:
    assert run.returncode == 0, run.output
    return [(r["name"], r["result"]) for r in run.result("apply")["results"]]


def test_second_run_of_100_resources_changes_nothing(
    ansible: Ansible, control_plane: ControlPlane
) -> None:
    batch = [MESH] + [permission(f"allow-{i:03}", service=f"svc-{i}") for i in range(99)]
    first = apply(ansible, control_plane, batch)
    second = apply(ansible, control_plane, batch)
    assert first.result("apply")["summary"]["created"] == 100
    assert second.result("apply")["changed"] is False
    assert second.result("apply")["summary"] == {
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 100,
    }
    assert len(names(control_plane, PERMISSIONS)) == 99


def test_check_mode_predicts_create_update_prune_and_delete(
    ansible: Ansible, control_plane: ControlPlane
) -> None:
    """Each step: check mode's outcomes equal the real run's, and check mode writes nothing."""
    steps: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = [
        ("create", [MESH, permission("a"), permission("b"), permission("c")], {}),
        ("update", [MESH, permission("a", service="api"), permission("b"), permission("c")], {}),
        ("prune", [MESH, permission("a", service="api"), permission("b")], {"prune": True}),
        ("delete", [permission("a"), permission("b")], {"state": "absent"}),
    ]
    for step, resources, options in steps:
        before = request(control_plane, "GET", PERMISSIONS)
        predicted = outcomes(apply(ansible, control_plane, resources, check=True, **options))
        assert request(control_plane, "GET", PERMISSIONS) == before, step
        real = outcomes(apply(ansible, control_plane, resources, **options))
        assert predicted == real, step
        assert any(result != "unchanged" for _name, result in real), step
    assert names(control_plane, PERMISSIONS) == set()


def test_prune_removes_only_what_the_task_manages(
    ansible: Ansible, control_plane: ControlPlane
) -> None:
    apply(ansible, control_plane, [MESH, permission("ours"), permission("gone")])
    apply(ansible, control_plane, [permission("theirs")], managed_by="team-b")
    by_hand = permission("by-hand")
    status, _ = request(control_plane, "PUT", PERMISSIONS + "/by-hand", by_hand)
    assert status == 201
    run = apply(ansible, control_plane, [MESH, permission("ours")], prune=True)
    assert sorted(outcomes(run)) == [
        ("default", "unchanged"),
        ("gone", "deleted"),
        ("ours", "unchanged"),
    ]
    assert names(control_plane, PERMISSIONS) == {
        "ours",
        "theirs",
        "by-hand",
    }


def test_typo_fails_with_field_path_and_applies_nothing(
    ansible: Ansible, control_plane: ControlPlane
) -> None:
    batch = [MESH, permission("good"), permission("typo", kind="MeshSubsett")]
    run = apply(ansible, control_plane, batch)
    assert run.returncode != 0
    result = run.result("apply")
    assert result["failed"]
    assert "MeshTrafficPermission default/typo" in result["msg"]
    [error] = result["errors"]
    assert error["invalid_parameters"][0]["field"] == "spec.from[0].targetRef.kind"
    assert "must be one of" in error["invalid_parameters"][0]["reason"]
    status, meshes = request(control_plane, "GET", "/meshes")
    assert (status, meshes["items"]) == (200, [])


def test_resource_module_check_diff_and_idempotence(
    ansible: Ansible, control_plane: ControlPlane
) -> None:
    task = {
        "name": "one",
        "meshfabric.mesh.resource": {
            "type": "MeshTrafficPermission",
            "name": "allow-web",
            "spec": permission("allow-web")["spec"],
        },
    }
    mesh = {"name": "mesh", "meshfabric.mesh.resource": {"type": "Mesh", "name": "default"}}
    checked = ansible.playbook([mesh, task], check=True, diff=True, control_plane=control_plane)
    assert checked.result("one")["result"] == "created", checked.output
    assert checked.result("one")["diff"]["before"] == {}
    assert request(control_plane, "GET", "/meshes")[1]["items"] == []
    first = ansible.playbook([mesh, task], control_plane=control_plane)
    second = ansible.playbook([mesh, task], diff=True, control_plane=control_plane)
    assert first.result("one")["result"] == "created"
    assert second.result("one")["result"] == "unchanged"
    assert second.result("one")["changed"] is False
    status, stored = request(control_plane, "GET", PERMISSIONS + "/allow-web")
    assert status == 200 and stored["spec"] == permission("x")["spec"]


def test_info_lookup_and_filter(ansible: Ansible, control_plane: ControlPlane) -> None:
    apply(ansible, control_plane, [MESH, permission("a"), permission("b")])
    tasks = [
        {
            "name": "info",
            "meshfabric.mesh.resource_info": {
                "type": "MeshTrafficPermission",
                "label_selectors": {"meshfabric.io/managed-by": "ansible"},
            },
        },
        {
            "name": "lookup",
            "ansible.builtin.set_fact": {
                "names": "{{ query('meshfabric.mesh.resource', 'MeshTrafficPermission',"
                " mesh='default', url=url, token_file=token_file) | map(attribute='name') }}",
                "host": "{{ 'flight-control' | meshfabric.mesh.mesh_hostname(zone='eu-west-1') }}",
            },
        },
        {"name": "zones", "meshfabric.mesh.zone_info": {}},
    ]
    variables = {"url": control_plane.url, "token_file": str(token_file(control_plane))}
    run = ansible.playbook(tasks, variables, control_plane=control_plane)
    assert run.returncode == 0, run.output
    assert sorted(r["name"] for r in run.result("info")["resources"]) == ["a", "b"]
    facts = run.result("lookup")["ansible_facts"]
    assert facts["names"] == ["a", "b"]
    assert facts["host"] == "flight-control.svc.eu-west-1.mesh.local"
    assert run.result("zones")["zones"] == []
