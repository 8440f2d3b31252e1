"""Envoys keep serving while the control plane is down, and come back to it quickly."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.dataplane.conftest import PairFactory, SidecarFactory
from tests.integration.dataplane.support import (
    HttpApp,
    ZoneControlPlane,
    permission,
    seconds_until,
    sidecar_dataplane,
    status_of,
)
from tests.support.net import free_port, wait_until

pytestmark = pytest.mark.envoy


def test_traffic_survives_a_killed_control_plane_and_changes_flow_after_restart(
    control_plane: ZoneControlPlane, mesh: str, pair: PairFactory
) -> None:
    control_plane.apply(permission(mesh, "web-to-backend", "backend", "web"))
    with HttpApp() as backend_app:
        services = pair(backend_app.port, "http")
        wait_until(lambda: status_of(services.url) == 200, 10, "the call to be allowed")

        control_plane.kill()
        wait_until(lambda: not any(p.connected() for p in services.proxies), 5, "Envoys to notice")
        with httpx.Client(timeout=2) as client:
            assert [client.get(services.url).status_code for _ in range(20)] == [200] * 20

        control_plane.start()
        took = seconds_until(
            lambda: all(p.connected() for p in services.proxies), 10, "Envoys to reconnect"
        )
        print(f"\nEnvoys reconnected {took:.2f}s after the restarted control plane answered")

        control_plane.delete(mesh, "meshtrafficpermissions", "web-to-backend")
        wait_until(lambda: status_of(services.url) == 403, 10, "the change to reach the Envoys")


def test_the_proxys_envoy_admin_tunnel_reopens_after_a_control_plane_restart(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory
) -> None:
    sidecar(sidecar_dataplane("backend-1", free_port(), free_port(), "backend", "http"))
    stats_path = f"/meshes/{mesh}/dataplanes/backend-1/stats"

    def stats_status() -> int:
        with control_plane.client() as client:
            return client.get(stats_path).status_code

    wait_until(lambda: stats_status() == 200, 20, "the proxy's Envoy through the control plane")
    control_plane.kill()
    control_plane.start()
    wait_until(lambda: stats_status() == 200, 20, "the tunnel to be opened again")
