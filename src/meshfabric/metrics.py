"""The control plane's own Prometheus metrics, served on the diagnostics port."""

from prometheus_client import Histogram

API_REQUEST_SECONDS = Histogram(
    "meshfabric_api_request_duration_seconds",
    "REST API requests by method, route and status, and how long they took",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

STORE_OPERATION_SECONDS = Histogram(
    "meshfabric_store_operation_duration_seconds",
    "Store operations by kind and backend, and how long they took",
    ["operation", "backend"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
