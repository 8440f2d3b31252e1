"""Global forwards Envoy admin requests to the zone that serves the proxy: a global and a
zone control plane as real processes, a real meshfabric-dp and Envoy in the zone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from meshfabric.kds.names import hashed_name
from tests.integration.dataplane.support import Sidecar, sidecar_dataplane
from tests.integration.kds.conftest import Federation
from tests.support.control_plane import ControlPlane
from tests.support.net import free_port, wait_until

pytestmark = pytest.mark.envoy

TIMEOUT = 30


def _get(cp: ControlPlane, path: str) -> httpx.Response:
    with cp.client() as client:
        return client.get(path)


@pytest.fixture
def zone(federation: Federation, tmp_path: Path) -> Iterator[tuple[ControlPlane, Path]]:
    socket = tmp_path / "zone-a-xds.sock"
    zone_cp = federation.start_zone("zone-a", None, "--xds-unix-socket", str(socket))
    wait_until(lambda: _get(zone_cp, "/meshes/default").status_code == 200, TIMEOUT, "the mesh")
    yield zone_cp, socket


@pytest.fixture
def proxy(zone: tuple[ControlPlane, Path], tmp_path: Path) -> Iterator[Sidecar]:
    zone_cp, socket = zone
    dataplane = sidecar_dataplane("backend-1", free_port(), free_port(), "backend", "http")
    with zone_cp.client() as client:
        request = {"mesh": "default", "tags": {"kuma.io/service": ["backend"]}}
        token = client.post("/tokens/dataplane", json=request).text
    sidecar = Sidecar(
        zone_cp,
        tmp_path / "dp",
        dataplane,
        token,
        cp_address=f"unix://{socket}",  # type: ignore[arg-type]
    )
    sidecar.token = token  # type: ignore[attr-defined]
    yield sidecar.start().wait_ready()
    sidecar.stop()


def test_global_answers_with_the_envoy_of_a_proxy_in_a_zone(
    federation: Federation, proxy: Sidecar
) -> None:
    at_global = f"/meshes/default/dataplanes/{hashed_name('default', 'backend-1', 'zone-a')}"
    wait_until(
        lambda: _get(federation.global_cp, f"{at_global}/stats").status_code == 200,
        TIMEOUT,
        "global to reach the proxy's Envoy through its zone",
    )
    stats = _get(federation.global_cp, f"{at_global}/stats").text
    assert "control_plane.connected_state: 1" in stats.splitlines()
    clusters = _get(federation.global_cp, f"{at_global}/clusters").text
    assert "ads_cluster::observability_name::ads_cluster" in clusters.splitlines()
    dump = _get(federation.global_cp, f"{at_global}/xds").text
    listeners = [
        config
        for config in json.loads(dump)["configs"]
        if config["@type"].endswith("ListenersConfigDump")
    ]
    [inbound] = listeners[0]["dynamic_listeners"]
    assert (
        inbound["name"]
        == f"inbound:127.0.0.1:{proxy.dataplane['networking']['inbound'][0]['port']}"
    )
    assert (proxy.work_dir / "token").read_text() not in dump
    assert "PRIVATE KEY" not in dump


def test_global_says_why_a_proxy_in_a_zone_cannot_answer(
    federation: Federation, zone: tuple[ControlPlane, Path]
) -> None:
    zone_cp, _ = zone
    with zone_cp.client() as client:
        registered = sidecar_dataplane("web-1", free_port(), free_port(), "web", "http")
        client.put("/meshes/default/dataplanes/web-1", json=registered).raise_for_status()
    at_global = f"/meshes/default/dataplanes/{hashed_name('default', 'web-1', 'zone-a')}"
    wait_until(
        lambda: _get(federation.global_cp, at_global).status_code == 200,
        TIMEOUT,
        "the dataplane to reach global",
    )

    def answer() -> httpx.Response:
        return _get(federation.global_cp, f"{at_global}/stats")

    # Until the zone's stream to global is open, global says the zone is not connected.
    wait_until(
        lambda: answer().json()["detail"].startswith('zone "zone-a": '),
        TIMEOUT,
        "the zone to answer global's Envoy admin requests",
    )
    offline = answer()
    assert offline.status_code == 503
    assert offline.json()["detail"] == (
        'zone "zone-a": dataplane "web-1" of mesh "default" is not connected to this control '
        "plane: its proxy is offline (`meshctl inspect dataplanes` shows its state)"
    )
    missing = _get(federation.global_cp, "/meshes/default/dataplanes/nope/stats")
    assert missing.status_code == 404

    zone_cp.stop()
    wait_until(
        lambda: "is not connected to this global control plane" in answer().text,
        TIMEOUT,
        "global to see the zone gone",
    )
    gone = answer()
    assert gone.status_code == 503
    assert gone.json()["detail"].startswith('zone "zone-a" is not connected')
