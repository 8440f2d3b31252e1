"""MeshRetry, MeshTimeout, MeshHealthCheck, MeshCircuitBreaker and MeshLoadBalancingStrategy,
accepted and obeyed by a real Envoy."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.dataplane.conftest import PairFactory
from tests.integration.dataplane.support import (
    HttpApp,
    ZoneControlPlane,
    permission,
    status_of,
)
from tests.support.net import wait_until

pytestmark = pytest.mark.envoy


POLICIES: dict[str, dict[str, Any]] = {
    "MeshRetry": {"http": {"numRetries": 2, "retryOn": ["5xx"]}},
    "MeshTimeout": {"http": {"requestTimeout": "300ms"}},
    "MeshHealthCheck": {"interval": "1s", "http": {"path": "/"}},
    "MeshCircuitBreaker": {"connectionLimits": {"maxConnections": 100}},
}


def to_backend(type_name: str, conf: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": type_name,
        "mesh": "default",
        "name": type_name.lower(),
        "spec": {
            "targetRef": {"kind": "Mesh"},
            "to": [{"targetRef": {"kind": "MeshService", "name": "backend"}, "default": conf}],
        },
    }


def test_retries_hide_a_failure_and_timeouts_cut_a_slow_call(
    control_plane: ZoneControlPlane, mesh: str, pair: PairFactory
) -> None:
    control_plane.apply(permission(mesh, "web-to-backend", "backend", "web"))
    with HttpApp() as backend_app:
        services = pair(backend_app.port, "http")
        wait_until(lambda: status_of(services.url) == 200, 10, "the call to be allowed")
        assert status_of(services.url + "fail-once/before") == 503

        control_plane.apply(
            to_backend("MeshRetry", {"http": {"numRetries": 2, "retryOn": ["5xx"]}})
        )
        control_plane.apply(to_backend("MeshTimeout", {"http": {"requestTimeout": "300ms"}}))
        control_plane.apply(
            to_backend("MeshHealthCheck", {"interval": "1s", "http": {"path": "/"}})
        )
        control_plane.apply(
            to_backend("MeshCircuitBreaker", {"connectionLimits": {"maxConnections": 100}})
        )
        wait_until(lambda: status_of(services.url + "sleep/1000") == 504, 10, "the timeout")

        with httpx.Client(timeout=5) as client:
            assert client.get(services.url + "fail-once/after").status_code == 200
            assert client.get(services.url + "sleep/50").status_code == 200
        assert [proxy.rejected_updates() for proxy in services.proxies] == [0, 0]
        config = control_plane.client().get("/meshes/default/dataplanes/web-1/_config").json()
        assert sorted(config["policies"]) == sorted(POLICIES)


def test_a_load_balancing_strategy_shapes_the_cluster_and_calls_still_succeed(
    control_plane: ZoneControlPlane, mesh: str, pair: PairFactory
) -> None:
    control_plane.apply(permission(mesh, "web-to-backend", "backend", "web"))
    strategy = {
        "loadBalancer": {"type": "Maglev", "maglev": {"tableSize": 1021}},
        "hashPolicies": [{"type": "Header", "header": {"name": "x-user"}}],
        "localityAwareness": {
            "localZone": {"affinityTags": [{"key": "kuma.io/protocol"}]},  # both: http
            "crossZone": {
                "failover": [{"to": {"type": "Any"}}],
                "failoverThreshold": {"percentage": 70},
            },
        },
    }
    with HttpApp() as backend_app:
        services = pair(backend_app.port, "http")
        wait_until(lambda: status_of(services.url) == 200, 10, "the call to be allowed")
        control_plane.apply(to_backend("MeshLoadBalancingStrategy", strategy))
        client = services.client

        def balanced_by_maglev() -> bool:
            return '"lb_policy": "MAGLEV"' in client.admin(
                "/config_dump?resource=dynamic_active_clusters"
            )

        wait_until(balanced_by_maglev, 10, "the strategy to reach the client's Envoy")
        with httpx.Client(timeout=5) as http:
            assert http.get(services.url, headers={"x-user": "alice"}).status_code == 200
        # Its endpoints now sit in this zone's locality, as the strategy laid them out.
        clusters = json.loads(client.admin("/clusters?format=json"))["cluster_statuses"]
        [backend] = [cluster for cluster in clusters if cluster["name"] == "backend"]
        assert [host["locality"] for host in backend["host_statuses"]] == [
            {"zone": "default", "sub_zone": "kuma.io/protocol=http"}
        ]
        assert [proxy.rejected_updates() for proxy in services.proxies] == [0, 0]
