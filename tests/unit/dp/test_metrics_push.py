"""What meshfabric-dp pushes of Prometheus expositions: one OTLP export of the proxy's
resource, a scope per exposition, counters as cumulative sums, gauges as gauges,
histograms with per-bucket counts."""

from __future__ import annotations

from meshfabric.dp.metrics_push import ENVOY_SCOPE, export_request

ENVOY_STATS = """\
# TYPE envoy_cluster_upstream_rq_total counter
envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"} 5
# TYPE envoy_server_uptime gauge
envoy_server_uptime{} 12.5
# TYPE envoy_cluster_upstream_rq_time histogram
envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="0.5"} 1
envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="1"} 3
envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="+Inf"} 4
envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="backend"} 7.5
envoy_cluster_upstream_rq_time_count{envoy_cluster_name="backend"} 4
"""
APP_STATS = "# TYPE app_bookings_total counter\napp_bookings_total 3\n"
RESOURCE = {"mesh": "default", "zone": "eu-west-1", "service": "backend", "dataplane": "b-1"}


def test_expositions_become_one_export_of_the_proxys_resource() -> None:
    expositions = {ENVOY_SCOPE: ENVOY_STATS, "bookings": APP_STATS}
    [resource_metrics] = export_request(expositions, RESOURCE, 1, 2).resource_metrics
    attributes = {
        pair.key: pair.value.string_value for pair in resource_metrics.resource.attributes
    }
    assert attributes == {**RESOURCE, "service.name": "backend"}
    [(_, [envoy_metrics, app_metrics])] = [
        (field, value) for field, value in resource_metrics.ListFields() if field.number == 2
    ]
    [app_scope] = [value for field, value in app_metrics.ListFields() if field.number == 1]
    assert app_scope.name == "bookings"
    assert [metric.name for metric in app_metrics.metrics] == ["app_bookings_total"]
    counter, gauge, histogram = envoy_metrics.metrics

    assert counter.name == "envoy_cluster_upstream_rq_total"
    assert counter.sum.is_monotonic
    [point] = counter.sum.data_points
    assert (point.as_int, point.start_time_unix_nano, point.time_unix_nano) == (5, 1, 2)
    assert point.attributes[0].key == "envoy_cluster_name"
    assert point.attributes[0].value.string_value == "backend"

    assert gauge.name == "envoy_server_uptime"
    assert gauge.gauge.data_points[0].as_double == 12.5

    assert histogram.name == "envoy_cluster_upstream_rq_time"
    [bucketed] = histogram.histogram.data_points
    assert list(bucketed.explicit_bounds) == [0.5, 1.0]
    assert list(bucketed.bucket_counts) == [1, 2, 1]
    assert (bucketed.count, bucketed.sum) == (4, 7.5)
