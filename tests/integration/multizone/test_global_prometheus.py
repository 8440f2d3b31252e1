"""One Prometheus for every zone: global and two zone control planes on loopback, a real
Envoy in each zone, one MeshMetric made at global, and a real Prometheus that knows only
global's discovery endpoint (with a read-only user token, configured as docs/telemetry.md
shows) scraping the proxies of both
zones, each series labelled with its zone."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.integration.dataplane.support import Sidecar, sidecar_dataplane
from tests.integration.kds.conftest import Federation
from tests.integration.multizone.test_cross_zone import MESH, start_sidecar, start_zone
from tests.integration.multizone.test_cross_zone import work as work  # the fixture
from tests.support.docs import REPO, blocks
from tests.support.net import free_port, wait_until
from tests.support.prometheus import Prometheus, mesh_wide_meshmetric

pytestmark = [pytest.mark.envoy, pytest.mark.slow]

ZONES = {"us-east-1": "127.0.0.2", "eu-west-1": "127.0.0.3"}  # a proxy address per zone
PAGE = REPO / "docs" / "telemetry.md"


def documented_config(global_url: str, token: Path) -> dict[str, Any]:
    """docs/telemetry.md's Prometheus configuration, its proxies' job pointed at this global
    with this token, refreshed and scraped every second."""
    [block] = [b for b in blocks("yaml") if b.page == PAGE and "http_sd_configs" in b.text]
    jobs = yaml.safe_load(block.text)["scrape_configs"]
    [job] = [job for job in jobs if "http_sd_configs" in job]
    [discovery] = job["http_sd_configs"]
    discovery["url"] = global_url + urlsplit(discovery["url"]).path
    discovery["refresh_interval"] = "1s"
    discovery["authorization"]["credentials_file"] = str(token)
    return {"global": {"scrape_interval": "1s"}, "scrape_configs": [job]}


def test_a_prometheus_on_globals_discovery_endpoint_scrapes_both_zones_with_zone_labels(
    federation: Federation, work: Path, tmp_path: Path
) -> None:
    metrics_port = free_port()
    meshmetric = mesh_wide_meshmetric(MESH, metrics_port)
    with federation.global_cp.client() as client:
        client.put(f"/meshes/{MESH}/meshmetrics/prometheus", json=meshmetric).raise_for_status()
        issued = client.post("/tokens/user", json={"name": "prometheus", "validFor": "1h"})
        issued.raise_for_status()
    token = tmp_path / "prometheus.token"
    token.write_text(issued.text)
    sidecars: list[Sidecar] = []
    try:
        for zone_name, address in ZONES.items():
            zone = start_zone(federation, zone_name)
            dataplane = sidecar_dataplane("web-1", free_port(), free_port(), "web", "http")
            dataplane["networking"]["address"] = address
            start_sidecar(zone, work, dataplane, sidecars)
        for sidecar in sidecars:
            sidecar.wait_ready()
        config = documented_config(federation.global_cp.url, token)
        with Prometheus(tmp_path / "prometheus", config) as prometheus:
            wait_until(
                lambda: (
                    len(prometheus.query('envoy_server_live{job="meshfabric-proxies"} == 1')) == 2
                ),
                60,
                "both zones' proxies scraped",
            )
            series = prometheus.query('envoy_server_live{job="meshfabric-proxies"}')
            labels = sorted(
                (s["metric"]["zone"], s["metric"]["instance"], s["metric"]["dataplane"])
                for s in series
            )
            assert labels == [
                ("eu-west-1", f"127.0.0.3:{metrics_port}", "web-1"),
                ("us-east-1", f"127.0.0.2:{metrics_port}", "web-1"),
            ]
            assert {(s["metric"]["mesh"], s["metric"]["service"]) for s in series} == {
                (MESH, "web")
            }
    finally:
        for sidecar in sidecars:
            sidecar.stop()
