"""MeshMetric on a real Envoy: the proxy serves its stats on the policy's port and path,
filtered by its profiles, and an application's own metrics beside them; with an
OpenTelemetry backend, meshfabric-dp pushes both to a real OTLP/gRPC receiver with the
proxy's mesh, zone, service and dataplane; both stop when the policy goes, Envoy never
restarted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from tests.integration.dataplane.conftest import SidecarFactory
from tests.integration.dataplane.support import ZoneControlPlane, sidecar_dataplane
from tests.support.net import free_port, wait_until
from tests.support.otlp import serve_export

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


@pytest.fixture
def app_metrics() -> Iterator[int]:
    """An application answering /prometheus with a metric of its own; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/prometheus"
            body = b"# TYPE app_bookings_total counter\napp_bookings_total 3\n" if found else b""
            self.send_response(200 if found else 404)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def otel_meshmetric(endpoint: str, app_port: int) -> dict[str, Any]:
    otel = {"endpoint": endpoint, "refreshInterval": "1s"}
    default = {
        "applications": [{"name": "bookings", "path": "/prometheus", "port": app_port}],
        "backends": [{"type": "OpenTelemetry", "openTelemetry": otel}],
    }
    return {"type": "MeshMetric", "mesh": "default", "name": "pushed", "spec": {"default": default}}


class MetricsReceiver:
    """OTLP/gRPC's MetricsService: keeps, per export, the resource attributes and the metric
    names it carried."""

    def __init__(self) -> None:
        self.exports: list[tuple[dict[str, str], set[str]]] = []

    def export(
        self, request: ExportMetricsServiceRequest, context: Any
    ) -> ExportMetricsServiceResponse:
        for resource_metrics in request.resource_metrics:
            resource = {
                pair.key: pair.value.string_value for pair in resource_metrics.resource.attributes
            }
            # Field 2 is named differently in the OTLP versions Envoy's protos and today's ship.
            [(_, scopes)] = [
                (field, value)
                for field, value in resource_metrics.ListFields()
                if field.number == 2
            ]
            names = {metric.name for scope in scopes for metric in scope.metrics}
            self.exports.append((resource, names))
        return ExportMetricsServiceResponse()


@pytest.fixture
def otlp_receivers() -> Iterator[list[tuple[MetricsReceiver, int]]]:
    """Two OTLP/gRPC metrics receivers on free loopback ports."""
    service = "opentelemetry.proto.collector.metrics.v1.MetricsService"
    with ExitStack() as servers:
        found = []
        for _ in range(2):
            receiver = MetricsReceiver()
            port = servers.enter_context(
                serve_export(service, ExportMetricsServiceRequest, receiver.export)
            )
            found.append((receiver, port))
        yield found


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


def test_stats_served_by_profile_and_pushed_over_otlp_then_gone_with_the_policy(
    control_plane: ZoneControlPlane,
    mesh: str,
    sidecar: SidecarFactory,
    app_metrics: int,
    otlp_receivers: list[tuple[MetricsReceiver, int]],
) -> None:
    proxy = sidecar(sidecar_dataplane("backend-1", free_port(), free_port(), "backend", "http"))
    proxy.wait_ready()
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"

    control_plane.apply(meshmetric(port))  # Kuma's default profile: Basic
    wait_until(lambda: scrape(url) is not None, 10, "the metrics listener")
    basic = families(scrape(url))
    assert {"envoy_server_live", "envoy_listener_downstream_cx_total"} <= basic
    assert "envoy_runtime_load_success" not in basic  # used, but in no Basic term
    # Basic leaves out the proxy's own clusters: the control plane's, the metrics server's.
    assert "ads_cluster" not in scrape(url)
    assert httpx.get(f"http://127.0.0.1:{port}/stats", timeout=2).status_code == 404

    no_runtime = [{"type": "Prefix", "match": "envoy_runtime_"}]
    every_but_runtime = {"profiles": {"appendProfiles": [{"name": "All"}], "exclude": no_runtime}}
    control_plane.apply(meshmetric(port, every_but_runtime))
    wait_until(
        lambda: "envoy_listener_manager_total_listeners_active" in families(scrape(url)),
        10,
        "the All profile",
    )
    assert not any(name.startswith("envoy_runtime_") for name in families(scrape(url)))

    server = [{"type": "Prefix", "match": "envoy_server_"}]
    only_server = {"profiles": {"appendProfiles": [{"name": "None"}], "include": server}}
    control_plane.apply(meshmetric(port, only_server))
    wait_until(
        lambda: (
            families(scrape(url))
            and all(name.startswith("envoy_server_") for name in families(scrape(url)))
        ),
        10,
        "only server stats",
    )

    with_app = meshmetric(port)
    application = {"name": "bookings", "path": "/prometheus", "port": app_metrics}
    with_app["spec"]["default"]["applications"] = [application]
    control_plane.apply(with_app)
    app_url = f"{url}/applications/bookings"
    wait_until(lambda: scrape(app_url) is not None, 10, "the application's metrics")
    assert families(scrape(app_url)) == {"app_bookings_total"}

    control_plane.delete("default", "meshmetrics", "metrics")
    wait_until(lambda: scrape(url) is None, 10, "the listener to go")
    assert scrape(app_url) is None

    (first, first_port), (second, second_port) = otlp_receivers
    control_plane.apply(otel_meshmetric(f"127.0.0.1:{first_port}", app_metrics))
    wait_until(lambda: first.exports, 15, "a push to the OTLP receiver")
    resource, names = first.exports[0]
    assert resource == {
        "mesh": "default",
        "zone": "default",  # the zone a control plane names itself by default
        "service": "backend",
        "service.name": "backend",
        "dataplane": "backend-1",
    }
    assert {"envoy_server_live", "envoy_listener_downstream_cx_total"} <= names
    assert "envoy_runtime_load_success" not in names  # Basic, as for Prometheus
    assert "app_bookings_total" in names  # the application's own, in the same push

    control_plane.delete("default", "meshmetrics", "pushed")
    wait_until(lambda: "pushed to: none" in proxy.log.read_text(), 15, "the pushes to stop")
    pushed_before = len(first.exports)
    control_plane.apply(otel_meshmetric(f"127.0.0.1:{second_port}", app_metrics))
    wait_until(lambda: len(second.exports) >= 2, 15, "pushes to the other receiver")
    assert len(first.exports) == pushed_before  # nothing more since the policy went
    control_plane.delete("default", "meshmetrics", "pushed")
    assert proxy.envoy_starts() == 1
    assert proxy.rejected_updates() == 0
