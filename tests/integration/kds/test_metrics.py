"""KDS metrics of real global and zone processes, labelled with the zone; every other metric
labelled with the zone of the control plane serving it."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.kds.conftest import Federation
from tests.integration.kds.test_sync import (
    TIMEOUT,
    mesh_service,
    put,
    timeout_policy,
    wait_for,
)
from tests.support.control_plane import ControlPlane
from tests.support.net import free_port, wait_until


def samples(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("meshfabric_kds_")
    }


def value(port: int, name: str, **labels: str) -> float:
    return samples(port).get((name, frozenset(labels.items())), 0.0)


def with_metrics_ports(federation: Federation) -> tuple[int, ControlPlane, int]:
    """Global restarted and zone A started, each serving metrics: (global's metrics port,
    zone A, its metrics port), once zone A holds the mesh."""
    global_port, zone_port = free_port(), free_port()
    federation.global_cp.stop()
    federation.global_cp = federation.start(
        {}, "--mode", "global", "--kds-port", str(federation.kds_port),
        "--diagnostics-port", str(global_port), name="global",
    )  # fmt: skip
    zone_a = federation.start_zone("zone-a", None, "--diagnostics-port", str(zone_port))
    wait_for(zone_a, "/meshes/default", "the mesh in zone A")
    return global_port, zone_a, zone_port


def test_kds_metrics_count_streams_resources_and_sync_time_per_zone(
    federation: Federation,
) -> None:
    global_port, zone_a, zone_port = with_metrics_ports(federation)
    put(federation.global_cp, "/meshes/default/meshtimeouts/slow", timeout_policy("slow"))
    put(zone_a, "/meshes/default/meshservices/backend", mesh_service("backend"))

    def synced() -> bool:
        return (
            value(global_port, "meshfabric_kds_sync_duration_seconds_count",
                  zone="zone-a", type="MeshTimeout") >= 1
            and value(global_port, "meshfabric_kds_changes_applied_total",
                      zone="zone-a", type="MeshService") >= 1
        )  # fmt: skip

    wait_until(synced, TIMEOUT, "the syncs counted at global")
    for stream in ("GlobalToZoneSync", "ZoneToGlobalSync"):
        labels = {"zone": "zone-a", "stream": stream}
        assert value(global_port, "meshfabric_kds_open_streams", **labels) == 1
        assert value(zone_port, "meshfabric_kds_open_streams", **labels) == 1
    assert value(global_port, "meshfabric_kds_resources_sent_total", zone="zone-a", type="Mesh")
    assert value(zone_port, "meshfabric_kds_changes_applied_total", zone="zone-a", type="Mesh")
    assert value(
        zone_port, "meshfabric_kds_resources_sent_total", zone="zone-a", type="MeshService"
    )


def test_every_other_metric_is_labelled_with_the_control_planes_own_zone(
    federation: Federation,
) -> None:
    global_port, _, zone_port = with_metrics_ports(federation)
    for port, zone in ((global_port, "global"), (zone_port, "zone-a")):
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        api = [
            sample
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "meshfabric_api_request_duration_seconds_count"
        ]
        assert api, f"no API requests counted at {zone}"
        assert {sample.labels["zone"] for sample in api} == {zone}
    assert value(global_port, "meshfabric_kds_open_streams", zone="zone-a",
                 stream="GlobalToZoneSync") == 1  # fmt: skip
