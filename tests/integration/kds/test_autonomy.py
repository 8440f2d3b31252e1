"""Zones without global, and what happens when it comes back; large syncs."""

from __future__ import annotations

from meshfabric.kds.names import hashed_name
from tests.integration.kds.conftest import Federation
from tests.integration.kds.test_liveness import online
from tests.integration.kds.test_sync import (
    TIMEOUT,
    delete,
    get,
    mesh_service,
    put,
    timeout_policy,
    wait_for,
    wait_gone,
)
from tests.integration.kds.test_zone_auth import insight_closed
from tests.support.control_plane import ControlPlane
from tests.support.net import wait_until


def restart_global(federation: Federation) -> None:
    federation.global_cp = federation.start(
        {}, "--mode", "global", "--kds-port", str(federation.kds_port), name="global"
    )


def test_a_zone_keeps_its_state_while_global_is_away_and_converges_after(
    federation: Federation,
) -> None:
    zone_a = federation.start_zone("zone-a")
    for name in ("kept", "doomed"):
        put(federation.global_cp, f"/meshes/default/meshtimeouts/{name}", timeout_policy(name))
        wait_for(zone_a, f"/meshes/default/meshtimeouts/{name}", "the policy in zone A")
    # Deleted at global while the zone is down: the zone learns it when it reconnects.
    zone_a.stop()
    delete(federation.global_cp, "/meshes/default/meshtimeouts/doomed")
    zone_a = federation.start_zone("zone-a")
    wait_gone(zone_a, "/meshes/default/meshtimeouts/doomed", "the delete made meanwhile")

    federation.global_cp.kill()
    assert get(zone_a, "/meshes/default/meshtimeouts/kept").status_code == 200
    put(zone_a, "/meshes/default/meshservices/backend", mesh_service("backend"))

    restart_global(federation)
    service = hashed_name("default", "backend", "zone-a")
    wait_for(federation.global_cp, f"/meshes/default/meshservices/{service}", "the write")
    delete(federation.global_cp, "/meshes/default/meshtimeouts/kept")
    wait_gone(zone_a, "/meshes/default/meshtimeouts/kept", "a delete after the restart")


def test_a_sync_larger_than_the_message_limit_arrives_in_several_batches(
    federation: Federation,
) -> None:
    limit = {"MESHFABRIC_KDS__MAX_MESSAGE_BYTES": str(64 * 1024)}
    federation.global_cp.stop()
    federation.global_cp = federation.start(
        limit, "--mode", "global", "--kds-port", str(federation.kds_port), name="global"
    )
    # 60 policies of ~2 KB each: about twice what one 64 KiB message holds.
    padding = {f"team.example.com/label-{i:02d}": "x" * 63 for i in range(20)}
    with federation.global_cp.client() as client:
        for index in range(60):
            body = timeout_policy(f"policy-{index:02d}") | {"labels": padding}
            client.put(f"/meshes/default/meshtimeouts/policy-{index:02d}", json=body)
    zone_a = federation.start_zone("zone-a", None, env=limit)
    wait_until(
        lambda: get(zone_a, "/meshes/default/meshtimeouts").json()["total"] == 60,
        TIMEOUT,
        "every policy in the zone",
    )
    batches = [
        line for line in zone_a.log.read_text().splitlines() if "of MeshTimeout from global" in line
    ]
    assert len(batches) >= 2, batches


def vip(cp: ControlPlane, path: str) -> str:
    found = get(cp, path).json()
    return str(((found.get("status") or {}).get("vips") or [{}])[0].get("ip", ""))


def test_a_zone_going_away_deletes_nothing_and_synced_vips_stay(federation: Federation) -> None:
    zone_a = federation.start_zone("zone-a")
    zone_b = federation.start_zone("zone-b")
    put(zone_a, "/meshes/default/meshservices/backend", mesh_service("backend"))
    path = f"/meshes/default/meshservices/{hashed_name('default', 'backend', 'zone-a')}"
    wait_for(zone_b, path, "zone A's service in zone B")
    wait_until(lambda: vip(zone_b, path) != "", TIMEOUT, "zone B's VIP for it")
    allocated = vip(zone_b, path)

    zone_a.stop()
    wait_until(lambda: insight_closed(federation, "zone-a"), TIMEOUT, "zone A offline")
    assert get(federation.global_cp, path).status_code == 200, "kept at global"
    assert get(zone_b, path).status_code == 200, "kept in the other zones"

    # Zone B reconnects (global restarted): the service is synced again, its VIP unchanged.
    federation.global_cp.kill()
    restart_global(federation)
    wait_until(lambda: online(federation, "zone-b"), TIMEOUT, "zone B back online")
    put(federation.global_cp, "/meshes/default/meshtimeouts/probe", timeout_policy("probe"))
    wait_for(zone_b, "/meshes/default/meshtimeouts/probe", "zone B synced again")
    assert vip(zone_b, path) == allocated
