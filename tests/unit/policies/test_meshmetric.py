"""What a write of a MeshMetric is warned about: the parts no proxy acts on yet."""

from __future__ import annotations

from meshfabric.resources import REGISTRY

MESHMETRIC = REGISTRY.get("MeshMetric")


def test_a_plain_prometheus_backend_draws_no_warning() -> None:
    spec = {"default": {"backends": [{"type": "Prometheus", "prometheus": {"port": 5670}}]}}
    assert MESHMETRIC.warnings(spec) == []


def test_tls_and_opentelemetry_backend_references_are_said_to_be_unused() -> None:
    tls = {"type": "Prometheus", "prometheus": {"port": 5670, "tls": {"mode": "ProvidedTLS"}}}
    pushed = {"type": "OpenTelemetry", "openTelemetry": {"endpoint": "collector:4317"}}
    ref = {"kind": "MeshOpenTelemetryBackend", "labels": {"team": "obs"}}
    referenced = {"type": "OpenTelemetry", "openTelemetry": {"backendRef": ref}}
    warnings = MESHMETRIC.warnings({"default": {"backends": [tls, pushed, referenced]}})
    assert warnings == [
        "default.backends[0].prometheus.tls.mode ProvidedTLS: the metrics port serves plain HTTP",
        "default.backends[2].openTelemetry.backendRef: stored, but no proxy follows it yet "
        "(give an endpoint)",
    ]
