"""Push Envoy's stats as OTLP metrics where a MeshMetric's OpenTelemetry backends say, as
kuma-dp does.

The control plane puts a listener on the Unix socket this process names in its node metadata
(`METRICS_PUSH_SOCKET_KEY`), and Envoy answers each GET there with what to push where:

    {"sidecar": {...the policy's sidecar settings...},
     "resource": {"mesh": ..., "zone": ..., "service": ..., "dataplane": ...},
     "applications": [{"name": ..., "address": ..., "port": ..., "path": ...}],
     "backends": [{"endpoint": "host:port", "refreshSeconds": 60.0}]}

This process asks every `POLL_SECONDS`. Each backend gets a pusher that, every refresh
interval, reads Envoy's stats filtered as the metrics server filters them, and each
application's own metrics, and exports them over OTLP/gRPC with those resource attributes
(and `service.name`). A new answer replaces
the pushers; no answer (the policy gone, so the listener too) stops them.

The request is built from the OTLP messages xds-protos ships (Envoy's protos import them):
that older copy of `opentelemetry/proto` shadows opentelemetry-proto's, so the OTLP
exporter package cannot be imported beside Envoy's protos. Its wire format is today's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
import httpx
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality,
    Metric,
    NumberDataPoint,
    ResourceMetrics,
)
from prometheus_client.metrics_core import Metric as Family
from prometheus_client.parser import text_string_to_metric_families

from meshfabric import __version__
from meshfabric.dp.background import in_background
from meshfabric.dp.envoy_admin import EnvoyAdmin
from meshfabric.dp.metrics import MetricsServer

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
EXPORT_METHOD = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
MAX_EXPORT_SECONDS = 10.0
# Named `instrumentation_library_metrics` and `instrumentation_library` in the copy
# xds-protos ships, `scope_metrics` and `scope` in today's OTLP: the same on the wire.
_SCOPE_METRICS_FIELD = ResourceMetrics.DESCRIPTOR.fields_by_number[2]
_SCOPE_METRICS = _SCOPE_METRICS_FIELD.name
_SCOPE = _SCOPE_METRICS_FIELD.message_type.fields_by_number[1].name
_CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE


ENVOY_SCOPE = "meshfabric-dp"


def export_request(
    expositions: Mapping[str, str], resource: Mapping[str, str], start_ns: int, now_ns: int
) -> ExportMetricsServiceRequest:
    """Prometheus text expositions as one OTLP export of one resource, each exposition an
    instrumentation scope of its own (Envoy's `ENVOY_SCOPE`, each application's its name)."""
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    attributes = {**resource, "service.name": resource.get("service", "")}
    resource_metrics.resource.attributes.extend(_key_values(attributes))
    for scope, text in expositions.items():
        scope_metrics = getattr(resource_metrics, _SCOPE_METRICS).add()
        getattr(scope_metrics, _SCOPE).name = scope
        getattr(scope_metrics, _SCOPE).version = __version__ if scope == ENVOY_SCOPE else ""
        for family in text_string_to_metric_families(text):
            metric = _metric(family, start_ns, now_ns)
            if metric is not None:
                scope_metrics.metrics.append(metric)
    return request


def _metric(family: Family, start_ns: int, now_ns: int) -> Metric | None:
    """Counters as cumulative monotonic sums (named as Prometheus names them, `_total`
    included), gauges and untyped as gauges, histograms as explicit-bucket histograms."""
    if family.type == "counter":
        metric = Metric(name=family.samples[0].name if family.samples else family.name)
        metric.sum.aggregation_temporality = _CUMULATIVE
        metric.sum.is_monotonic = True
        metric.sum.data_points.extend(
            _number(sample.labels, sample.value, start_ns, now_ns)
            for sample in family.samples
            if sample.name.endswith("_total")
        )
        return metric
    if family.type in ("gauge", "untyped", "unknown"):
        metric = Metric(name=family.name)
        metric.gauge.data_points.extend(
            _number(sample.labels, sample.value, start_ns, now_ns) for sample in family.samples
        )
        return metric
    if family.type == "histogram":
        metric = Metric(name=family.name)
        metric.histogram.aggregation_temporality = _CUMULATIVE
        _add_histogram_points(metric, family, start_ns, now_ns)
        return metric
    return None  # Envoy writes no summaries


def _number(labels: Mapping[str, str], value: float, start_ns: int, now_ns: int) -> NumberDataPoint:
    point = NumberDataPoint(
        attributes=_key_values(labels), start_time_unix_nano=start_ns, time_unix_nano=now_ns
    )
    if float(value).is_integer():
        point.as_int = int(value)
    else:
        point.as_double = value
    return point


def _add_histogram_points(metric: Metric, family: Family, start_ns: int, now_ns: int) -> None:
    """One point per label set: Prometheus' cumulative `le` buckets become OTLP's counts per
    bucket, the `+Inf` bound left implicit."""
    series: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for sample in family.samples:
        labels = {key: value for key, value in sample.labels.items() if key != "le"}
        found = series.setdefault(tuple(sorted(labels.items())), {"buckets": []})
        if sample.name.endswith("_bucket"):
            found["buckets"].append((float(sample.labels["le"]), sample.value))
        elif sample.name.endswith("_sum"):
            found["sum"] = sample.value
        elif sample.name.endswith("_count"):
            found["count"] = sample.value
    for label_items, found in series.items():
        buckets = sorted(found["buckets"])
        cumulative = [count for _, count in buckets]
        point = metric.histogram.data_points.add(
            attributes=_key_values(dict(label_items)),
            start_time_unix_nano=start_ns,
            time_unix_nano=now_ns,
            count=int(found.get("count", cumulative[-1] if cumulative else 0)),
            sum=found.get("sum", 0.0),
        )
        point.explicit_bounds.extend(bound for bound, _ in buckets if not math.isinf(bound))
        point.bucket_counts.extend(
            int(count - previous) for previous, count in itertools.pairwise([0.0, *cumulative])
        )


def _key_values(attributes: Mapping[str, str]) -> Iterable[KeyValue]:
    for key, value in attributes.items():
        pair = KeyValue(key=key)
        pair.value.string_value = value
        yield pair


class Pusher:
    """Pushes the proxy's filtered stats to one OTLP/gRPC endpoint every refresh interval."""

    def __init__(
        self, server: MetricsServer, backend: Mapping[str, Any], settings: Mapping[str, Any]
    ) -> None:
        self.server = server
        self.endpoint = str(backend["endpoint"])
        self.refresh = float(backend["refreshSeconds"])
        self.sidecar: Mapping[str, Any] = settings.get("sidecar") or {}
        self.resource: Mapping[str, str] = settings.get("resource") or {}
        self.applications: Sequence[Mapping[str, Any]] = settings.get("applications") or []
        self.start_ns = time.time_ns()

    async def run(self) -> None:
        async with (
            grpc.aio.insecure_channel(self.endpoint) as channel,
            httpx.AsyncClient(timeout=MAX_EXPORT_SECONDS) as applications,
        ):
            export = channel.unary_unary(
                EXPORT_METHOD,
                request_serializer=ExportMetricsServiceRequest.SerializeToString,
                response_deserializer=ExportMetricsServiceResponse.FromString,
            )
            while True:
                await self._push(export, applications)
                await asyncio.sleep(self.refresh)

    async def _push(
        self, export: grpc.aio.UnaryUnaryMultiCallable, applications: httpx.AsyncClient
    ) -> None:
        status, body = await self.server.scrape(self.sidecar)
        if status != 200:
            log.warning("metrics for %s not read: %s", self.endpoint, body.decode().strip())
            return
        expositions = {ENVOY_SCOPE: body.decode(), **await self._applications(applications)}
        request = export_request(expositions, self.resource, self.start_ns, time.time_ns())
        try:
            await export(request, timeout=min(self.refresh, MAX_EXPORT_SECONDS))
        except grpc.aio.AioRpcError as error:
            log.warning("metrics push to %s: %s (%s)", self.endpoint, error.details(), error.code())
        except Exception:  # this push fails, not the pushes to come
            log.exception("metrics push to %s", self.endpoint)

    async def _applications(self, client: httpx.AsyncClient) -> dict[str, str]:
        """Each application's own metrics, by name; one that does not answer is left out."""
        found = {}
        for app in self.applications:
            url = f"http://{app['address']}:{app['port']}{app['path']}"
            try:
                response = (await client.get(url)).raise_for_status()
            except httpx.HTTPError as problem:
                log.warning("metrics of application %s not read: %s", app["name"], problem)
                continue
            found[str(app["name"])] = response.text
        return found


class Pushes:
    """The pushers the latest answer on the push socket asks for."""

    def __init__(self, server: MetricsServer) -> None:
        self.server = server
        self.settings: Mapping[str, Any] | None = None
        self.running: list[asyncio.Task[None]] = []

    async def follow(self, socket: Path) -> None:
        # One client for every poll (making one costs milliseconds of CPU), but a new
        # connection each time: a removed listener keeps answering on connections it had.
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        transport = httpx.AsyncHTTPTransport(uds=str(socket), limits=no_reuse)
        async with httpx.AsyncClient(transport=transport, timeout=2.0) as client:
            while True:
                self.apply(await _push_settings(client, socket))
                await asyncio.sleep(POLL_SECONDS)

    def apply(self, settings: Mapping[str, Any] | None) -> None:
        if settings == self.settings:
            return
        self.stop()
        self.settings = settings
        backends: Sequence[Mapping[str, Any]] = (settings or {}).get("backends") or []
        for backend in backends:
            pusher = Pusher(self.server, backend, settings or {})
            self.running.append(asyncio.create_task(pusher.run(), name=f"push:{pusher.endpoint}"))
        endpoints = ", ".join(str(backend["endpoint"]) for backend in backends) or "none"
        log.info("OpenTelemetry metrics pushed to: %s", endpoints)

    def stop(self) -> None:
        for task in self.running:
            task.cancel()
        self.running = []


async def _push_settings(client: httpx.AsyncClient, socket: Path) -> Mapping[str, Any] | None:
    """Envoy's answer on the push socket; None while no listener answers there."""
    try:
        response = await client.get("http://envoy/")
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        settings = json.loads(response.content)
    except ValueError:
        log.warning("not push settings on %s: %r", socket, response.content[:200])
        return None
    return settings if isinstance(settings, dict) else None


@contextlib.asynccontextmanager
async def metrics_pushes(
    socket: Path, admin_address: dict[str, Any], hidden_clusters: Sequence[str]
) -> AsyncIterator[None]:
    """Follow the push settings on `socket` while the context lasts."""
    admin = EnvoyAdmin(admin_address)
    pushes = Pushes(MetricsServer(admin, hidden_clusters))
    try:
        async with in_background(pushes.follow(socket), "metrics-pushes"):
            yield
    finally:
        pushes.stop()
        await admin.aclose()
