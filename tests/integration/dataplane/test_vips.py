"""A MeshService reached by name: Envoy's DNS listener answers with its VIP, and the VIP's
listener carries the call over mTLS. Each side runs in a network namespace of its own, joined
by a veth pair, as on two hosts."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.dataplane.conftest import SidecarFactory
from tests.integration.dataplane.support import (
    HttpApp,
    ZoneControlPlane,
    permission,
    sidecar_dataplane,
)
from tests.support.dns_query import NXDOMAIN, query_a
from tests.support.net import wait_until
from tests.support.netns import Namespace, link

pytestmark = pytest.mark.envoy

# Inside namespaces this test creates: nothing else listens there.
CLIENT_ADDRESS, SERVER_ADDRESS = "192.0.2.1", "192.0.2.2"
INBOUND_PORT, SERVICE_PORT, DNS_PORT = 15001, 8080, 15053
HOSTNAME = "flight-control.svc.mesh.local"


@pytest.fixture
def hosts() -> Iterator[tuple[Namespace, Namespace]]:
    created: list[Namespace] = []
    try:
        client = Namespace("mf-booking")
        created.append(client)
        server = Namespace("mf-flight")
        created.append(server)
        link(client, CLIENT_ADDRESS, server, SERVER_ADDRESS, 24)
        yield client, server
    finally:
        for namespace in created:
            namespace.delete()


def mesh_service(mesh: str) -> dict[str, Any]:
    return {
        "type": "MeshService",
        "mesh": mesh,
        "name": "flight-control",
        "spec": {
            "selector": {"dataplaneTags": {"kuma.io/service": "flight-control"}},
            "ports": [{"port": 80, "targetPort": INBOUND_PORT, "appProtocol": "http"}],
        },
    }


def vip_of(control_plane: ZoneControlPlane, mesh: str) -> str:
    with control_plane.client() as client:
        found = client.get(f"/meshes/{mesh}/meshservices/flight-control").json()
    return str(((found.get("status") or {}).get("vips") or [{}])[0].get("ip", ""))


def on_host(dataplane: dict[str, Any], address: str) -> dict[str, Any]:
    dataplane["networking"]["address"] = address
    return dataplane


def test_a_client_resolves_a_mesh_service_and_calls_its_vip_over_mtls(
    control_plane: ZoneControlPlane,
    mesh: str,
    sidecar: SidecarFactory,
    hosts: tuple[Namespace, Namespace],
) -> None:
    client_host, server_host = hosts
    control_plane.apply(mesh_service(mesh))
    control_plane.apply(permission(mesh, "booking-to-flight-control", "flight-control", "booking"))
    wait_until(lambda: vip_of(control_plane, mesh).startswith("241."), 10, "a VIP")
    vip = vip_of(control_plane, mesh)

    with server_host.run(HttpApp) as app:
        server_dp = sidecar_dataplane(
            "flight-control-1", INBOUND_PORT, app.port, "flight-control", "http"
        )
        client_dp = sidecar_dataplane("booking-1", INBOUND_PORT, SERVICE_PORT, "booking", "http")
        dns = f"127.0.0.1:{DNS_PORT}"
        proxies = [
            sidecar(on_host(server_dp, SERVER_ADDRESS), None, "--vips", netns=server_host),
            sidecar(
                on_host(client_dp, CLIENT_ADDRESS),
                None,
                *("--vips", "--dns-address", dns),
                netns=client_host,
            ),
        ]
        for proxy in proxies:
            proxy.wait_ready()

        def resolve(name: str) -> Any:
            return client_host.run(lambda: query_a("127.0.0.1", DNS_PORT, name))

        wait_until(lambda: resolve(HOSTNAME).addresses == [vip], 10, f"{HOSTNAME} -> {vip}")
        assert resolve("nothing-here.svc.mesh.local").rcode == NXDOMAIN

        def call_vip() -> tuple[int, str]:
            """Like an application that resolved the name: to the VIP, with the name as Host."""
            try:
                with httpx.Client(trust_env=False, timeout=2) as client:
                    response = client.get(f"http://{vip}/", headers={"host": HOSTNAME})
            except httpx.TransportError:
                return 0, ""
            return response.status_code, response.text

        wait_until(lambda: client_host.run(call_vip)[0] == 200, 10, "the VIP listener to answer")
        caller = json.loads(client_host.run(call_vip)[1])["xfcc"]
        assert "URI=spiffe://default/booking" in caller
        assert all(proxy.rejected_updates() == 0 for proxy in proxies)


def local_routes(host: Namespace) -> str:
    command = host.command("ip", "route", "show", "table", "local")
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def test_stopping_one_sidecar_keeps_the_vip_routes_the_others_use(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory
) -> None:
    host = Namespace("mf-vips")
    try:
        first, second = (
            sidecar(
                sidecar_dataplane(name, INBOUND_PORT + i, SERVICE_PORT + i, name, "http"),
                None,
                "--vips",
                netns=host,
            ).wait_ready()
            for i, name in enumerate(("web", "backend"))
        )
        assert "241.0.0.0/8" in local_routes(host)
        second.stop()
        assert "241.0.0.0/8" in local_routes(host)
        first.stop()
        assert "241.0.0.0/8" not in local_routes(host)
    finally:
        host.delete()
