"""What a write of a MeshMetric is warned about: the parts no proxy acts on yet."""

from __future__ import annotations

from meshfabric.resources import REGISTRY

MESHMETRIC = REGISTRY.get("MeshMetric")


def test_a_plain_prometheus_backend_draws_no_warning() -> None:
    spec = {"default": {"backends": [{"type": "Prometheus", "prometheus": {"port": 5670}}]}}
    assert MESHMETRIC.warnings(spec) == []


def test_tls_and_opentelemetry_backends_are_said_to_be_unused() -> None:
    tls = {"type": "Prometheus", "prometheus": {"port": 5670, "tls": {"mode": "ProvidedTLS"}}}
    otel = {"type": "OpenTelemetry", "openTelemetry": {"endpoint": "collector:4317"}}
    warnings = MESHMETRIC.warnings({"default": {"backends": [tls, otel]}})
    assert warnings == [
        "default.backends[0].prometheus.tls.mode ProvidedTLS: the metrics port serves plain HTTP",
        "default.backends[1]: OpenTelemetry backends are stored, but no proxy pushes to them yet",
    ]
