"""The control plane's own Prometheus metrics, served on the diagnostics port.

Every sample served carries a `zone` label: the zone of the figure. That is the control
plane's own zone (`global` for global), except for the KDS metrics, which name the zone of
the stream they count (on global, the zone at the other end).
"""

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

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

XDS_GENERATION_SECONDS = Histogram(
    "meshfabric_xds_generation_duration_seconds",
    "Time to generate one proxy's xDS snapshot",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
)

XDS_DELIVERY_SECONDS = Histogram(
    "meshfabric_xds_delivery_duration_seconds",
    "From a store change to the affected proxy's ACK of the resulting config",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

XDS_REJECTIONS = Counter(
    "meshfabric_xds_rejected_responses_total",
    "xDS responses a proxy refused (NACK), by type",
    ["type"],
)

XDS_CONNECTED_PROXIES = Gauge(
    "meshfabric_xds_connected_proxies", "Proxies with an open ADS stream to this control plane"
)

# KDS, labelled with the zone of the stream on global and in the zone alike.
KDS_RESOURCES_SENT = Counter(
    "meshfabric_kds_resources_sent_total",
    "Resources and removals sent over KDS, by zone and type",
    ["zone", "type"],
)
KDS_CHANGES_APPLIED = Counter(
    "meshfabric_kds_changes_applied_total",
    "Store changes made by batches received over KDS, by zone and type",
    ["zone", "type"],
)
KDS_NACKS = Counter(
    "meshfabric_kds_nacks_total",
    "KDS batches refused, by the zone of the stream, type and side (sent or received)",
    ["zone", "type", "side"],
)
KDS_SYNC_SECONDS = Histogram(
    "meshfabric_kds_sync_duration_seconds",
    "From a store change to the peer's ACK of the batch that carried it, by zone and type",
    ["zone", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
KDS_STREAMS = Gauge(
    "meshfabric_kds_open_streams", "Open KDS streams, by zone and stream", ["zone", "stream"]
)
KDS_RECONNECTS = Counter(
    "meshfabric_kds_reconnects_total", "Times a zone dialled global again", ["zone"]
)

LEADER = Gauge(
    "meshfabric_leader",
    "1 while this replica leads its control plane's replicas (the work done once: zones "
    "marked offline, status, CAs, VIPs, a zone's KDS connection), else 0",
)


class ZoneLabelled(Collector):
    """Another registry's metrics with `zone` added to every sample that has none."""

    def __init__(self, zone: str, source: CollectorRegistry = REGISTRY) -> None:
        self.zone = zone
        self.source = source

    def collect(self) -> Iterator[Metric]:
        for family in self.source.collect():
            labelled = Metric(family.name, family.documentation, family.type, family.unit)
            labelled.samples = [
                sample
                if "zone" in sample.labels
                else sample._replace(labels={"zone": self.zone, **sample.labels})
                for sample in family.samples
            ]
            yield labelled


def zone_registry(zone: str) -> CollectorRegistry:
    """What the diagnostics port serves: every metric of this process, labelled with `zone`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ZoneLabelled(zone))
    return registry
