"""Token modules and multizone_service against a real control plane."""

from __future__ import annotations

import base64

from tests.integration.ansible.conftest import Ansible, request
from tests.support.control_plane import ControlPlane


def revoked(cp: ControlPlane, path: str) -> list[str]:
    status, secret = request(cp, "GET", path)
    assert status == 200, secret
    return base64.b64decode(secret["data"]).decode().split(",")


def test_issue_and_revoke_zone_and_dataplane_tokens(
    ansible: Ansible, control_plane: ControlPlane
) -> None:
    tasks = [
        {"name": "mesh", "meshfabric.mesh.resource": {"type": "Mesh", "name": "default"}},
        {"name": "zone", "meshfabric.mesh.zone_token": {"zone": "eu-west-1", "valid_for": "1h"}},
        {
            "name": "dataplane",
            "meshfabric.mesh.dataplane_token": {
                "tags": {"kuma.io/service": ["flight-control"]},
                "valid_for": "1h",
            },
        },
        {
            "name": "revoke zone",
            "meshfabric.mesh.zone_token": {
                "state": "absent",
                "revoke_token": "{{ zone_issued.token }}",
            },
        },
        {
            "name": "revoke dataplane",
            "meshfabric.mesh.dataplane_token": {
                "state": "absent",
                "token_id": "{{ dataplane_issued.token_id }}",
            },
        },
        {
            "name": "revoke zone again",
            "meshfabric.mesh.zone_token": {
                "state": "absent",
                "token_id": "{{ zone_issued.token_id }}",
            },
        },
    ]
    tasks[1]["register"] = "zone_issued"
    tasks[2]["register"] = "dataplane_issued"
    run = ansible.playbook(tasks, control_plane=control_plane)
    assert run.returncode == 0, run.output
    zone_id = run.result("zone")["token_id"]
    dataplane_id = run.result("dataplane")["token_id"]
    assert run.result("zone")["token"].count(".") == 2
    assert run.result("revoke zone")["changed"] is True
    assert run.result("revoke zone again")["changed"] is False
    assert revoked(control_plane, "/global-secrets/zone-token-revocations") == [zone_id]
    secret = "/meshes/default/secrets/dataplane-token-revocations"
    assert revoked(control_plane, secret) == [dataplane_id]


def test_multizone_service_and_hostname(ansible: Ansible, control_plane: ControlPlane) -> None:
    service = {
        "name": "flight-control",
        "meshfabric.mesh.multizone_service": {"name": "flight-control", "ports": [{"port": 8080}]},
    }
    mesh = {"name": "mesh", "meshfabric.mesh.resource": {"type": "Mesh", "name": "default"}}
    first = ansible.playbook([mesh, service], control_plane=control_plane)
    second = ansible.playbook([mesh, service], control_plane=control_plane)
    assert first.result("flight-control")["result"] == "created", first.output
    assert second.result("flight-control")["result"] == "unchanged", second.output
    assert second.result("flight-control")["hostname"] == "flight-control.mzsvc.mesh.local"
    status, stored = request(
        control_plane, "GET", "/meshes/default/meshmultizoneservices/flight-control"
    )
    assert status == 200
    assert stored["spec"]["selector"] == {
        "meshService": {"matchLabels": {"kuma.io/display-name": "flight-control"}}
    }
