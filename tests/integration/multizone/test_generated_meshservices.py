"""MeshServices a zone generates from its Dataplanes (meshServices.mode Everywhere), with real
control planes: global and two zones joined over KDS, and for the traffic test real Envoys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshfabric.kds.names import hashed_name
from tests.integration.dataplane.support import Sidecar, permission, sidecar_dataplane
from tests.integration.kds.conftest import MESH, Federation
from tests.integration.kds.test_sync import dataplane, delete, get, put, wait_for, wait_gone
from tests.integration.multizone.test_cross_zone import (
    Ingress,
    ZoneApp,
    _answered_by,
    start_ingress,
    start_sidecar,
    start_zone,
    work,
)
from tests.support.control_plane import ControlPlane
from tests.support.net import free_port, wait_until

__all__ = ["work"]  # the fixture, imported to be used here

TIMEOUT = 30
GRACE_S = "5"
SERVICES = "/meshes/default/meshservices"


def generating_mesh(federation: Federation) -> None:
    put(
        federation.global_cp,
        "/meshes/default",
        {**MESH, "meshServices": {"mode": "Everywhere"}},
    )


def start_generating_zone(federation: Federation, zone: str) -> ControlPlane:
    env = {"MESHFABRIC_MESH_SERVICE__DELETION_GRACE_PERIOD_S": GRACE_S}
    cp = federation.start_zone(zone, None, env=env)
    wait_until(lambda: get(cp, "/meshes/default").status_code == 200, TIMEOUT, "the mesh")
    return cp


def addressed(cp: ControlPlane, path: str) -> bool:
    """Whether the service has a VIP there and the hostname of a service of zone A."""
    status = get(cp, path).json().get("status") or {}
    hostnames = [address["hostname"] for address in status.get("addresses", [])]
    return bool(status.get("vips")) and "backend.svc.zone-a.mesh.local" in hostnames


def test_a_dataplane_alone_makes_a_meshservice_in_its_zone_at_global_and_in_the_other_zone(
    federation: Federation,
) -> None:
    generating_mesh(federation)
    zone_a = start_generating_zone(federation, "zone-a")
    zone_b = start_generating_zone(federation, "zone-b")
    put(zone_a, "/meshes/default/dataplanes/backend-1", dataplane("backend-1", "backend"))

    made = wait_for(zone_a, f"{SERVICES}/backend", "the generated MeshService in zone A")
    assert made["labels"] == {
        "kuma.io/mesh": "default",
        "kuma.io/managed-by": "meshservice-generator",
        "kuma.io/env": "universal",
        "kuma.io/origin": "zone",
        "kuma.io/zone": "zone-a",
        "kuma.io/display-name": "backend",
    }
    assert made["spec"]["selector"] == {"dataplaneTags": {"kuma.io/service": "backend"}}
    assert made["spec"]["ports"] == [
        {"name": "18080", "port": 18080, "targetPort": 18080, "appProtocol": "tcp"}
    ]
    synced = f"{SERVICES}/{hashed_name('default', 'backend', 'zone-a')}"
    at_global = wait_for(federation.global_cp, synced, "the generated MeshService at global")
    assert at_global["labels"]["kuma.io/managed-by"] == "meshservice-generator"
    wait_for(zone_b, synced, "the generated MeshService in zone B")
    wait_until(lambda: addressed(zone_b, synced), TIMEOUT, "zone B's VIP and hostname for it")
    assert get(zone_b, f"{SERVICES}/backend").status_code == 404, "zone B generates none"

    delete(zone_a, "/meshes/default/dataplanes/backend-1")
    wait_until(
        lambda: (
            "kuma.io/deletion-grace-period-started-at"
            in get(zone_a, f"{SERVICES}/backend").json()["labels"]
        ),
        TIMEOUT,
        "the grace period to start",
    )
    wait_gone(zone_a, f"{SERVICES}/backend", "the generated MeshService after the grace period")
    wait_gone(federation.global_cp, synced, "its copy at global")
    wait_gone(zone_b, synced, "its copy in zone B")


def test_a_written_meshservice_is_never_overwritten_by_generation(
    federation: Federation,
) -> None:
    generating_mesh(federation)
    zone_a = start_generating_zone(federation, "zone-a")
    written: dict[str, Any] = {
        "type": "MeshService",
        "mesh": "default",
        "name": "payments",
        "labels": {"team": "money"},
        "spec": {
            "selector": {"dataplaneTags": {"kuma.io/service": "payments"}},
            "ports": [{"port": 80, "targetPort": 18080, "appProtocol": "http"}],
        },
    }
    put(zone_a, f"{SERVICES}/payments", written)
    put(zone_a, "/meshes/default/dataplanes/payments-1", dataplane("payments-1", "payments"))
    # Made in a pass that saw payments-1 too, the generated one shows that pass is over.
    put(zone_a, "/meshes/default/dataplanes/backend-1", dataplane("backend-1", "backend"))
    wait_for(zone_a, f"{SERVICES}/backend", "the generated MeshService")
    kept = get(zone_a, f"{SERVICES}/payments").json()
    assert kept["spec"]["ports"] == written["spec"]["ports"]
    assert kept["labels"] == {"team": "money", "kuma.io/origin": "zone", "kuma.io/zone": "zone-a"}

    delete(zone_a, "/meshes/default/dataplanes/payments-1")
    delete(zone_a, "/meshes/default/dataplanes/backend-1")
    wait_gone(zone_a, f"{SERVICES}/backend", "the generated MeshService after the grace period")
    assert get(zone_a, f"{SERVICES}/payments").json()["spec"] == kept["spec"]


@pytest.mark.envoy
@pytest.mark.slow
def test_a_sidecar_reaches_a_service_of_another_zone_known_only_from_its_dataplane(
    federation: Federation, work: Path
) -> None:
    generating_mesh(federation)
    permit = permission("default", "web-to-flight-control", "flight-control", "web")
    put(federation.global_cp, f"/meshes/default/meshtrafficpermissions/{permit['name']}", permit)
    us, eu = start_zone(federation, "us-east-1"), start_zone(federation, "eu-west-1")
    ingresses: list[Ingress] = []
    sidecars: list[Sidecar] = []
    app = ZoneApp("eu-west-1")
    try:
        start_ingress(eu, work, ingresses)
        server_dp = sidecar_dataplane(
            "flight-control-1", free_port(), app.port, "flight-control", "http"
        )
        server = start_sidecar(eu, work, server_dp, sidecars)
        outbound = free_port()
        client_dp = sidecar_dataplane(
            "web-1", free_port(), free_port(), "web", "http", {outbound: "flight-control"}
        )
        client = start_sidecar(us, work, client_dp, sidecars)
        server.wait_ready()
        client.wait_ready()
        url = f"http://127.0.0.1:{outbound}/"
        wait_until(lambda: _answered_by(url) == "eu-west-1", TIMEOUT, "an answer from eu-west-1")
        with eu.cp.client() as api:
            generated = api.get(f"{SERVICES}/flight-control").json()
        assert generated["labels"]["kuma.io/managed-by"] == "meshservice-generator"
    finally:
        for sidecar in sidecars:
            sidecar.stop()
        for ingress in ingresses:
            ingress.process.terminate()
            ingress.process.wait(10)
        app.stop()
