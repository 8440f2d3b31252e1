"""Global shows every zone's proxies with their state: a real Envoy in each of two zones,
their DataplaneInsights synced from the zones, `meshctl inspect dataplanes` at global."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshfabric.kds.names import hashed_name
from tests.integration.cli.conftest import Meshctl
from tests.integration.dataplane.support import Sidecar, sidecar_dataplane
from tests.integration.kds.conftest import Federation
from tests.integration.multizone.test_cross_zone import MESH, start_sidecar, start_zone
from tests.integration.multizone.test_cross_zone import work as work  # the fixture
from tests.support.net import free_port, wait_until

pytestmark = [pytest.mark.envoy, pytest.mark.slow]


def statuses(meshctl: Meshctl) -> dict[str, str]:
    """Name -> STATUS of each row of `meshctl inspect dataplanes` at global."""
    table = meshctl.ok("inspect", "dataplanes", "--mesh", MESH).splitlines()
    header = table[0]
    status_at, after = header.index("STATUS"), header.index("LAST CONNECTED")
    return {row.split()[0]: row[status_at:after].strip() for row in table[1:] if row.strip()}


def test_global_lists_each_zones_proxies_online_then_offline_when_one_crashes(
    federation: Federation, work: Path, tmp_path: Path
) -> None:
    meshctl = Meshctl(tmp_path / "meshctl.yaml")
    meshctl.ok(
        "config", "control-planes", "add", "--name", "global",
        "--address", federation.global_cp.url,
        "--auth-token-file", str(federation.global_cp.data_dir / "admin-token"),
    )  # fmt: skip
    zones = [start_zone(federation, "zone-a"), start_zone(federation, "zone-b")]
    sidecars: list[Sidecar] = []
    try:
        for zone in zones:
            dataplane = sidecar_dataplane(
                f"web-{zone.name}", free_port(), free_port(), "web", "http"
            )
            start_sidecar(zone, work, dataplane, sidecars)
        for sidecar in sidecars:
            sidecar.wait_ready()
        names = {zone.name: hashed_name(MESH, f"web-{zone.name}", zone.name) for zone in zones}
        wait_until(
            lambda: all(statuses(meshctl).get(n) == "Online" for n in names.values()),
            30,
            "both zones' proxies online at global",
        )
        with federation.global_cp.client() as client:
            path = f"/meshes/{MESH}/dataplanes/{names['zone-a']}/_overview"
            subscription = client.get(path).json()["dataplaneInsight"]["subscriptions"][-1]
        assert subscription["version"]["envoy"]["version"], "the insight the zone recorded"

        sidecars[0].crash()  # a stop would deregister it: gone, not offline
        wait_until(
            lambda: statuses(meshctl).get(names["zone-a"]) == "Offline",
            30,
            "zone A's crashed proxy offline at global",
        )
        assert statuses(meshctl)[names["zone-b"]] == "Online"
        with zones[1].cp.client() as client:
            insights = client.get(f"/meshes/{MESH}/dataplanes/_overview").json()["items"]
        assert [item["name"] for item in insights] == ["web-zone-b"], (
            "a zone gets no other zone's proxies or insights"
        )
    finally:
        for sidecar in sidecars:
            sidecar.stop()
