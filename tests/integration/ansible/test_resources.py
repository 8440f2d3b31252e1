"""meshfabric.mesh.resources and resource against a real control plane, through ansible-playbook."""

from __future__ import annotations

from typing import Any

from tests.integration.ansible.conftest import (
    Ansible,
    PlaybookRun,
    request,
    token_file,
)
from tests.integration.ansible.conftest import names as names_in
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


def service(name: str) -> dict[str, Any]:
    return {
        "type": "MeshService",
        "name": name,
        "mesh": "default",
        "spec": {"selector": {"dataplaneTags": {"kuma.io/service": name}}, "ports": [{"port": 80}]},
    }


def timeout(name: str) -> dict[str, Any]:
    return {
        "type": "MeshTimeout",
        "name": name,
        "mesh": "default",
        "spec": {
            "targetRef": {"kind": "Mesh"},
            "to": [
                {
                    "targetRef": {"kind": "MeshService", "name": name},
                    "default": {"idleTimeout": "1m"},
                }
            ],
        },
    }


def test_second_run_of_100_resources_changes_nothing(
    ansible: Ansible, control_plane: ControlPlane
) -> None:
    """A Mesh, 33 services and 66 policies, listed policies first: the mesh must still go first."""
    names = [f"svc-{i:02}" for i in range(33)]
    batch = (
        [permission(f"allow-{n}", service=n) for n in names]
        + [timeout(n) for n in names]
        + [service(n) for n in names]
        + [MESH]
    )
    first = apply(ansible, control_plane, batch)
    second = apply(ansible, control_plane, batch)
    assert first.result("apply")["summary"]["created"] == 100, first.output
    assert [r["type"] for r in first.result("apply")["results"][:2]] == ["Mesh", "MeshService"]
    assert second.result("apply")["changed"] is False
    assert second.result("apply")["summary"] == {
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 100,
    }
    assert len(names_in(control_plane, PERMISSIONS)) == 33


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
    assert names_in(control_plane, PERMISSIONS) == set()


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
    assert names_in(control_plane, PERMISSIONS) == {
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


def test_waits_fail_after_their_timeout_and_are_skipped_in_check_mode(
    ansible: Ansible, control_plane: ControlPlane
) -> None:
    tasks = [
        {
            "name": "resource",
            "meshfabric.mesh.resource_info": {
                "type": "Mesh",
                "name": "later",
                "wait": True,
                "wait_timeout": 1,
            },
            "ignore_errors": True,
        },
        {
            "name": "zone",
            "meshfabric.mesh.zone_info": {"name": "eu-west-1", "wait": True, "wait_timeout": 1},
            "ignore_errors": True,
        },
    ]
    run = ansible.playbook(tasks, control_plane=control_plane)
    assert "timed out after 1s waiting for Mesh later to exist" in run.result("resource")["msg"]
    assert "timed out after 1s waiting for zone eu-west-1" in run.result("zone")["msg"]
    checked = ansible.playbook(tasks, check=True, control_plane=control_plane)
    assert checked.result("resource")["resources"] == []
    assert checked.result("zone")["zones"] == []
    assert not checked.result("zone").get("failed")


def test_wait_returns_once_the_resource_exists(
    ansible: Ansible, control_plane: ControlPlane
) -> None:
    task = {
        "name": "wait",
        "meshfabric.mesh.resource": {
            "type": "MeshService",
            "name": "svc-00",
            "spec": service("svc-00")["spec"],
            "wait": True,
            "wait_timeout": 10,
            "wait_condition": {"path": "spec.ports.0.port", "equals": 80},
        },
    }
    run = ansible.playbook([{"meshfabric.mesh.resource": MESH}, task], control_plane=control_plane)
    assert run.returncode == 0, run.output
    assert run.result("wait")["resource"]["spec"]["ports"][0]["port"] == 80


def test_what_no_proxy_acts_on_yet_is_applied_with_a_warning(
    ansible: Ansible, control_plane: ControlPlane
) -> None:
    mesh = {**MESH, "meshServices": {"mode": "Exclusive"}}
    run = apply(ansible, control_plane, [mesh, timeout("flight-control")])
    assert sorted(outcomes(run)) == [("default", "created"), ("flight-control", "created")]
    assert run.result("apply")["warnings"] == [
        "Mesh default: meshServices.mode Exclusive only turns on MeshService generation here: "
        "proxies still get every MeshService and kuma.io/service outbound of the mesh"
    ]
