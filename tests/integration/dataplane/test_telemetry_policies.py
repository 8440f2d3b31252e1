"""MeshMetric, MeshTrace and MeshAccessLog added and removed under steady traffic on real
Envoys: each adds its Envoy config (seen in the admin /config_dump) and takes it away again,
every backend type of MeshTrace is accepted by Envoy, no call fails meanwhile and neither
Envoy restarts (same process, uptime never reset)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.dataplane.conftest import Pair, PairFactory
from tests.integration.dataplane.support import (
    HttpApp,
    Sidecar,
    ZoneControlPlane,
    permission,
    status_of,
)
from tests.integration.dataplane.test_meshaccesslog import access_log, steady_calls
from tests.integration.dataplane.test_meshmetric import meshmetric
from tests.support.net import free_port, wait_until

pytestmark = pytest.mark.envoy

TRACERS = {
    "Zipkin": ("envoy.tracers.zipkin", {"zipkin": {"url": "http://127.0.0.1:9411/api/v2/spans"}}),
    "Datadog": ("envoy.tracers.datadog", {"datadog": {"url": "http://127.0.0.1:8126"}}),
    "OpenTelemetry": (
        "envoy.tracers.opentelemetry",
        {"openTelemetry": {"endpoint": "127.0.0.1:4317"}},
    ),
}


def meshtrace(backend_type: str) -> dict[str, Any]:
    backend = {"type": backend_type, **TRACERS[backend_type][1]}
    default = {"backends": [backend], "sampling": {"overall": 1}}
    return {
        "type": "MeshTrace",
        "mesh": "default",
        "name": "traces",
        "spec": {"targetRef": {"kind": "Mesh"}, "default": default},
    }


def active_config(proxy: Sidecar) -> str:
    """The proxy's listeners and clusters in use (not those draining, nor the bootstrap,
    whose node lists every extension Envoy has), as JSON text."""
    listeners = json.loads(proxy.admin("/config_dump?resource=dynamic_listeners"))["configs"]
    clusters = json.loads(proxy.admin("/config_dump?resource=dynamic_active_clusters"))
    active = [listener["active_state"] for listener in listeners if "active_state" in listener]
    return json.dumps([active, clusters["configs"]])


def in_every_config(services: Pair, text: str) -> Callable[[], bool]:
    return lambda: all(text in active_config(proxy) for proxy in services.proxies)


def in_no_config(services: Pair, text: str) -> Callable[[], bool]:
    return lambda: not any(text in active_config(proxy) for proxy in services.proxies)


def test_telemetry_policies_come_and_go_with_no_restart_and_no_failed_call(
    control_plane: ZoneControlPlane, mesh: str, pair: PairFactory, tmp_path: Path
) -> None:
    control_plane.apply(permission(mesh, "web-to-backend", "backend", "web"))
    with HttpApp() as backend_app:
        services = pair(backend_app.port, "http")
        wait_until(lambda: status_of(services.url) == 200, 10, "the call to be allowed")
        pids = [proxy.envoy_pid() for proxy in services.proxies]
        uptimes = [proxy.uptime() for proxy in services.proxies]
        with steady_calls(services.url) as statuses:
            port = free_port()
            metrics = meshmetric(port)
            otel = {"endpoint": f"127.0.0.1:{free_port()}"}  # nothing listens: pushes fail
            metrics["spec"]["default"]["backends"].append(
                {"type": "OpenTelemetry", "openTelemetry": otel}
            )
            control_plane.apply(metrics)
            wait_until(in_every_config(services, f"metrics:prometheus:{port}"), 10, "metrics")
            wait_until(in_every_config(services, "metrics:opentelemetry"), 10, "metrics pushes")
            control_plane.delete("default", "meshmetrics", "metrics")
            wait_until(in_no_config(services, "metrics:"), 20, "no metrics")

            for backend_type, (tracer, _) in TRACERS.items():
                control_plane.apply(meshtrace(backend_type))
                wait_until(in_every_config(services, tracer), 10, f"the {backend_type} tracer")
            control_plane.delete("default", "meshtraces", "traces")
            wait_until(in_no_config(services, "envoy.tracers."), 20, "no tracer")
            wait_until(in_no_config(services, "meshtrace:"), 20, "no tracer cluster")

            control_plane.apply(access_log(tmp_path / "access.json"))
            wait_until(in_every_config(services, "envoy.access_loggers.file"), 10, "loggers")
            control_plane.delete("default", "meshaccesslogs", "everything")
            wait_until(in_no_config(services, "envoy.access_loggers."), 20, "no loggers")
        assert set(statuses) == {200} and statuses[200] > 0
        assert [proxy.envoy_pid() for proxy in services.proxies] == pids
        now = [proxy.uptime() for proxy in services.proxies]
        assert all(later >= earlier for later, earlier in zip(now, uptimes, strict=True))
        assert [proxy.envoy_starts() for proxy in services.proxies] == [1, 1]
        assert [proxy.rejected_updates() for proxy in services.proxies] == [0, 0]
