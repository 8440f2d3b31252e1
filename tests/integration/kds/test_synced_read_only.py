"""What a control plane received over KDS is changed where it was made: a zone refuses to
change or delete what global or another zone made, global what a zone made. Real global and
zone processes; each refusal is a 400 naming the origin, and the resource stays as it was."""

from __future__ import annotations

from typing import Any

from meshfabric.kds.names import hashed_name
from tests.integration.kds.conftest import Federation
from tests.integration.kds.test_sync import get, mesh_service, put, timeout_policy, wait_for
from tests.support.control_plane import ControlPlane


def refusals(cp: ControlPlane, path: str, body: dict[str, Any]) -> list[str]:
    """The details of the refused PUT and DELETE of the resource, after checking each is a
    400 and the resource is unchanged."""
    before = get(cp, path).json()
    details = []
    with cp.client() as client:
        for response in (client.put(path, json=body), client.delete(path)):
            assert response.status_code == 400, response.text
            details.append(response.json()["detail"])
    assert get(cp, path).json() == before
    return details


def test_synced_resources_are_changed_only_where_they_were_made(federation: Federation) -> None:
    zone_a, zone_b = federation.start_zone("zone-a"), federation.start_zone("zone-b")
    put(
        federation.global_cp,
        "/meshes/default/meshtimeouts/made-at-global",
        timeout_policy("made-at-global"),
    )
    wait_for(zone_a, "/meshes/default/meshtimeouts/made-at-global", "global's policy in zone A")
    put(zone_a, "/meshes/default/meshtimeouts/made-in-a", timeout_policy("made-in-a"))
    put(zone_a, "/meshes/default/meshservices/backend", mesh_service("backend"))
    policy_at_global = (
        f"/meshes/default/meshtimeouts/{hashed_name('default', 'made-in-a', 'zone-a')}"
    )
    service = f"/meshes/default/meshservices/{hashed_name('default', 'backend', 'zone-a')}"
    wait_for(federation.global_cp, policy_at_global, "zone A's policy at global")
    wait_for(zone_b, service, "zone A's service in zone B")

    change = timeout_policy("made-at-global", "1s")
    for detail in refusals(zone_a, "/meshes/default/meshtimeouts/made-at-global", change):
        assert detail == (
            "MeshTimeout default/made-at-global was made at global and synced here "
            "(kuma.io/origin: global): it cannot be changed or deleted here. Change or delete "
            "it on the global control plane."
        )
    from_a = 'made in zone "zone-a" and synced here (kuma.io/origin: zone, kuma.io/zone: zone-a)'
    owner = 'Change or delete it on the control plane of zone "zone-a".'
    name = policy_at_global.rpartition("/")[2]
    for detail in refusals(federation.global_cp, policy_at_global, timeout_policy(name, "1s")):
        assert from_a in detail and owner in detail
    name = service.rpartition("/")[2]
    for cp in (zone_b, federation.global_cp):
        for detail in refusals(cp, service, mesh_service(name)):
            assert from_a in detail and owner in detail
    # What a zone made itself stays its own to change.
    put(zone_a, "/meshes/default/meshtimeouts/made-in-a", timeout_policy("made-in-a", "1s"))
