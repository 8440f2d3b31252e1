"""Two services behind real Envoys: mTLS between them, MeshTrafficPermission deciding."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.dataplane.conftest import PairFactory
from tests.integration.dataplane.support import (
    HttpApp,
    TcpEchoApp,
    ZoneControlPlane,
    permission,
    status_of,
    tcp_exchange,
)
from tests.support.net import wait_until

pytestmark = pytest.mark.envoy


@pytest.mark.parametrize("xds_protocol", ["delta", "sotw"])
def test_http_denied_without_permission_then_allowed_with_caller_identity(
    control_plane: ZoneControlPlane, mesh: str, pair: PairFactory, xds_protocol: str
) -> None:
    with HttpApp() as backend_app:
        services = pair(backend_app.port, "http", "backend", "web", "--xds-protocol", xds_protocol)
        wait_until(lambda: status_of(services.url) == 403, 10, "the call to be denied")
        envoy_processes = [proxy.process for proxy in services.proxies]

        control_plane.apply(permission(mesh, "web-to-backend", "backend", "web"))
        wait_until(lambda: status_of(services.url) == 200, 10, "the permission to take effect")

        caller = json.loads(httpx.get(services.url, timeout=2).text)["xfcc"]
        assert "URI=spiffe://default/web" in caller
        assert [proxy.process for proxy in services.proxies] == envoy_processes
        assert all(proxy.envoy_starts() == 1 for proxy in services.proxies)


def test_tcp_closed_without_permission_then_echoed(
    control_plane: ZoneControlPlane, mesh: str, pair: PairFactory
) -> None:
    with TcpEchoApp() as echo:
        services = pair(echo.port, "tcp", "db", "api")
        assert tcp_exchange(services.outbound) == b""

        control_plane.apply(permission(mesh, "api-to-db", "db", "api"))
        wait_until(
            lambda: tcp_exchange(services.outbound) == b"ping", 10, "the permission to take effect"
        )
