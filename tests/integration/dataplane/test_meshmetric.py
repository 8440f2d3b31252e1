"""MeshMetric on a real Envoy: the proxy serves its stats on the policy's port and path,
filtered by its profiles, and stops serving them when the policy goes, Envoy never restarted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.dataplane.conftest import SidecarFactory
from tests.integration.dataplane.support import ZoneControlPlane, sidecar_dataplane
from tests.support.net import free_port, wait_until

pytestmark = pytest.mark.envoy


def meshmetric(port: int, sidecar: dict[str, Any] | None = None) -> dict[str, Any]:
    default: dict[str, Any] = {
        "backends": [{"type": "Prometheus", "prometheus": {"port": port, "path": "/metrics"}}]
    }
    if sidecar is not None:
        default["sidecar"] = sidecar
    return {
        "type": "MeshMetric",
        "mesh": "default",
        "name": "metrics",
        "spec": {"default": default},
    }


def scrape(url: str) -> str | None:
    """The metric families a scrape lists (their `# TYPE` lines); None while nothing answers."""
    try:
        response = httpx.get(url, timeout=2)
    except httpx.TransportError:
        return None
    return response.text if response.status_code == 200 else None


def families(text: str | None) -> set[str]:
    lines = (text or "").splitlines()
    return {line.split()[2] for line in lines if line.startswith("# TYPE ")}


def test_stats_on_the_policy_port_by_profile_then_gone_with_the_policy(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory
) -> None:
    proxy = sidecar(sidecar_dataplane("backend-1", free_port(), free_port(), "backend", "http"))
    proxy.wait_ready()
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"

    control_plane.apply(meshmetric(port))  # Kuma's default profile: Basic
    wait_until(lambda: scrape(url) is not None, 10, "the metrics listener")
    basic = families(scrape(url))
    assert {"envoy_server_live", "envoy_cluster_upstream_cx_total"} <= basic
    assert "envoy_runtime_load_success" not in basic  # used, but in no Basic term
    assert httpx.get(f"http://127.0.0.1:{port}/stats", timeout=2).status_code == 404

    control_plane.apply(meshmetric(port, {"profiles": {"appendProfiles": [{"name": "All"}]}}))
    wait_until(lambda: "envoy_runtime_load_success" in families(scrape(url)), 10, "the All profile")

    only_server = {"profiles": {"appendProfiles": [{"name": "None"}],
                                "include": [{"type": "Prefix", "match": "server."}]}}  # fmt: skip
    control_plane.apply(meshmetric(port, only_server))
    wait_until(
        lambda: (
            families(scrape(url))
            and all(name.startswith("envoy_server_") for name in families(scrape(url)))
        ),
        10,
        "only server stats",
    )

    control_plane.delete("default", "meshmetrics", "metrics")
    wait_until(lambda: scrape(url) is None, 10, "the listener to go")
    assert proxy.envoy_starts() == 1
    assert proxy.rejected_updates() == 0
