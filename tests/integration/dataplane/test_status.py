"""What the control plane reports about a real proxy: its DataplaneOverview with the xDS
subscription, and the MeshService status counting it connected and healthy, then not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.dataplane.conftest import SidecarFactory
from tests.integration.dataplane.support import ZoneControlPlane, sidecar_dataplane
from tests.support.net import free_port, wait_until

pytestmark = pytest.mark.envoy


def mesh_service(name: str, port: int) -> dict[str, Any]:
    return {
        "type": "MeshService",
        "mesh": "default",
        "name": name,
        "spec": {
            "selector": {"dataplaneTags": {"kuma.io/service": name}},
            "ports": [{"port": 80, "targetPort": port, "appProtocol": "http"}],
        },
    }


def get(cp: ZoneControlPlane, path: str) -> Any:
    with cp.client() as client:
        response = client.get(path)
    response.raise_for_status()
    return response.json()


def proxies_of(cp: ZoneControlPlane, service: str) -> dict[str, int] | None:
    status = get(cp, f"/meshes/default/meshservices/{service}").get("status") or {}
    counts: dict[str, int] | None = status.get("dataplaneProxies")
    return counts


def test_a_connected_proxy_is_counted_healthy_and_its_insight_is_served(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory
) -> None:
    inbound = free_port()
    control_plane.apply(mesh_service("backend", inbound))
    proxy = sidecar(sidecar_dataplane("backend-1", inbound, free_port(), "backend", "http"))
    proxy.wait_ready()

    healthy = {"connected": 1, "healthy": 1, "total": 1}
    wait_until(lambda: proxies_of(control_plane, "backend") == healthy, 10, "a healthy proxy")
    status = get(control_plane, "/meshes/default/meshservices/backend")["status"]
    assert status["vips"][0]["ip"].startswith("241.")
    made_by = {"coreName": "local-universal-mesh-service"}  # a default the control plane made
    address = {"hostname": "backend.svc.mesh.local", "origin": "HostnameGenerator"}
    assert {**address, "hostnameGeneratorRef": made_by} in status["addresses"]

    overview = get(control_plane, "/meshes/default/dataplanes/backend-1/_overview")
    assert overview["type"] == "DataplaneOverview"
    assert overview["dataplane"]["networking"]["inbound"][0]["port"] == inbound
    [subscription] = overview["dataplaneInsight"]["subscriptions"]
    assert subscription["connectTime"] and "disconnectTime" not in subscription
    listed = get(control_plane, "/meshes/default/dataplanes/_overview")
    assert listed["total"] == 1
    assert listed["items"][0]["dataplaneInsight"] == overview["dataplaneInsight"]

    proxy.stop()
    wait_until(
        lambda: (proxies_of(control_plane, "backend") or {}).get("connected") == 0,
        10,
        "the stopped proxy to be counted as disconnected",
    )


def test_overview_of_an_unknown_dataplane_is_not_found(control_plane: ZoneControlPlane) -> None:
    with control_plane.client() as client:
        response = client.get("/meshes/default/dataplanes/nosuch/_overview")
    assert response.status_code == 404
    assert "nosuch" in response.json()["detail"]
