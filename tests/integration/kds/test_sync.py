"""Global plus two zones as real processes: what flows where, names, labels, deletes, the CA."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx

from meshfabric.kds.names import hashed_name
from tests.integration.cli.conftest import Meshctl
from tests.integration.kds.conftest import Federation
from tests.support.control_plane import ControlPlane
from tests.support.net import wait_until

# Generous: the machine is shared, and a wait ends as soon as its condition holds.
TIMEOUT = 90


def timeout_policy(name: str, seconds: str = "5s") -> dict[str, Any]:
    return {
        "type": "MeshTimeout",
        "mesh": "default",
        "name": name,
        "spec": {
            "targetRef": {"kind": "Mesh"},
            "to": [{"targetRef": {"kind": "Mesh"}, "default": {"connectionTimeout": seconds}}],
        },
    }


def mesh_service(name: str) -> dict[str, Any]:
    return {
        "type": "MeshService",
        "mesh": "default",
        "name": name,
        "spec": {
            "selector": {"dataplaneTags": {"kuma.io/service": name}},
            "ports": [{"port": 80, "targetPort": 8080, "appProtocol": "http"}],
        },
    }


def dataplane(name: str, service: str) -> dict[str, Any]:
    return {
        "type": "Dataplane",
        "mesh": "default",
        "name": name,
        "networking": {
            "address": "127.0.0.1",
            "inbound": [{"port": 18080, "servicePort": 8080, "tags": {"kuma.io/service": service}}],
        },
    }


def get(cp: ControlPlane, path: str) -> httpx.Response:
    with cp.client() as client:
        return client.get(path)


def put(cp: ControlPlane, path: str, body: dict[str, Any]) -> None:
    with cp.client() as client:
        client.put(path, json=body).raise_for_status()


def delete(cp: ControlPlane, path: str) -> None:
    with cp.client() as client:
        client.delete(path).raise_for_status()


def wait_for(cp: ControlPlane, path: str, what: str) -> dict[str, Any]:
    wait_until(lambda: get(cp, path).status_code == 200, TIMEOUT, what)
    found: dict[str, Any] = get(cp, path).json()
    return found


def wait_gone(cp: ControlPlane, path: str, what: str) -> None:
    wait_until(lambda: get(cp, path).status_code == 404, TIMEOUT, what)


def secrets_named(cp: ControlPlane, pattern: str) -> dict[str, str]:
    """Secrets whose name is LIKE the pattern, as the control plane stored them (SQLite)."""
    with sqlite3.connect(cp.data_dir / "meshfabric.db") as db:
        rows = db.execute(
            "SELECT name, spec FROM resources WHERE type LIKE '%Secret' AND name LIKE ?",
            (pattern,),
        ).fetchall()
    return dict(rows)


def ca_secrets(cp: ControlPlane) -> dict[str, str]:
    return secrets_named(cp, "%.ca-builtin-%")


def token_keys(cp: ControlPlane) -> dict[str, str]:
    return secrets_named(cp, "%-token-signing-key")


def test_a_policy_made_at_global_reaches_both_zones_and_its_delete_too(
    federation: Federation,
) -> None:
    zone_a = federation.start_zone("zone-a")
    zone_b = federation.start_zone("zone-b")
    put(federation.global_cp, "/meshes/default/meshtimeouts/slow", timeout_policy("slow"))
    path = "/meshes/default/meshtimeouts/slow"
    for zone in (zone_a, zone_b):
        synced = wait_for(zone, path, "the policy in the zone")
        assert synced["spec"]["to"][0]["default"]["connectionTimeout"] == "5s"
        assert synced["labels"]["kuma.io/origin"] == "global"
    put(federation.global_cp, path, timeout_policy("slow", "9s"))
    for zone in (zone_a, zone_b):
        wait_until(
            lambda zone=zone: (
                get(zone, path).json()["spec"]["to"][0]["default"]["connectionTimeout"] == "9s"
            ),
            TIMEOUT,
            "the change in the zone",
        )
    delete(federation.global_cp, path)
    for zone in (zone_a, zone_b):
        wait_gone(zone, path, "the policy deleted in the zone")


def test_a_zones_service_and_dataplane_reach_global_under_the_hash_name(
    federation: Federation,
) -> None:
    zone_a = federation.start_zone("zone-a")
    zone_b = federation.start_zone("zone-b")
    wait_for(zone_a, "/meshes/default", "the mesh in zone A")
    put(zone_a, "/meshes/default/meshservices/backend", mesh_service("backend"))
    put(zone_a, "/meshes/default/dataplanes/backend-1", dataplane("backend-1", "backend"))
    service_name = hashed_name("default", "backend", "zone-a")
    dataplane_name = hashed_name("default", "backend-1", "zone-a")
    service_path = f"/meshes/default/meshservices/{service_name}"
    at_global = wait_for(federation.global_cp, service_path, "zone A's service at global")
    assert at_global["labels"] == {
        "kuma.io/origin": "zone",
        "kuma.io/zone": "zone-a",
        "kuma.io/display-name": "backend",
    }
    proxy = wait_for(
        federation.global_cp,
        f"/meshes/default/dataplanes/{dataplane_name}",
        "zone A's dataplane at global",
    )
    assert proxy["labels"]["kuma.io/zone"] == "zone-a"
    in_b = wait_for(zone_b, service_path, "zone A's service in zone B")
    assert in_b["labels"]["kuma.io/zone"] == "zone-a"
    assert get(zone_b, f"/meshes/default/dataplanes/{dataplane_name}").status_code == 404, (
        "dataplanes stay between their zone and global"
    )
    assert get(zone_a, service_path).status_code == 404, "nothing comes back to its zone"

    delete(zone_a, "/meshes/default/meshservices/backend")
    wait_gone(federation.global_cp, service_path, "the service deleted at global")
    wait_gone(zone_b, service_path, "the service deleted in zone B")


def test_zones_of_one_mesh_share_its_ca_and_never_get_token_keys(federation: Federation) -> None:
    with federation.global_cp.client() as client:
        # Gives global a signing key inside the mesh, the kind of Secret that could leak.
        client.post("/tokens/dataplane", json={"mesh": "default"}).raise_for_status()
    zone_a = federation.start_zone("zone-a")
    zone_b = federation.start_zone("zone-b")
    for zone in (zone_a, zone_b):
        wait_until(lambda zone=zone: len(ca_secrets(zone)) == 2, TIMEOUT, "the mesh CA")
    assert ca_secrets(zone_a) == ca_secrets(zone_b) == ca_secrets(federation.global_cp)
    global_keys = token_keys(federation.global_cp)
    assert {"dataplane-token-signing-key", "zone-token-signing-key"} <= set(global_keys)
    for zone in (zone_a, zone_b):
        # Each zone signs its own admin token; none of global's keys is among its rows.
        assert set(token_keys(zone)) == {"user-token-signing-key"}
        assert not set(token_keys(zone).values()) & set(global_keys.values())


def test_a_zone_joins_with_a_meshctl_token_and_meshctl_lists_it(
    federation: Federation, tmp_path: Path
) -> None:
    meshctl = Meshctl(tmp_path / "meshctl.yaml")
    meshctl.ok(
        "config", "control-planes", "add", "--name", "global",
        "--address", federation.global_cp.url,
        "--auth-token-file", str(federation.global_cp.data_dir / "admin-token"),
    )  # fmt: skip
    token = tmp_path / "zone-a.token"
    token.write_text(meshctl.ok("generate", "zone-token", "--zone", "zone-a"))
    federation.start_zone("zone-a", token)
    wait_for(federation.global_cp, "/zones/zone-a", "the Zone created at global")
    assert "zone-a" in meshctl.ok("get", "zones")
    row = next(line for line in meshctl.ok("inspect", "zones").splitlines() if "zone-a" in line)
    assert "online" in row.split()
