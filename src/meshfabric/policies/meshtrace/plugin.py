"""Translate MeshTrace: the `default` of the policies that select a proxy, merged, turns on
tracing in the HTTP connection manager of each of its HTTP inbounds and outbounds (Envoy
traces HTTP only: TCP traffic is left alone), as Kuma's plugin does.

- The one backend is the tracer, over a cluster of its own: OpenTelemetry (OTLP over gRPC
  to `endpoint`), Zipkin (its `url`) or Datadog (the agent at `url`). An OpenTelemetry
  backend given by `backendRef` is not supported yet: it traces nothing.
- `sampling` percentages become Envoy's overall, client and random sampling (Envoy's
  default for each is 100%).
- `tags` become custom tags (a literal, or a request header with a default); every span
  also says its mesh and zone (`kuma.mesh`, `kuma.zone`) unless a tag of that name is given.
- The span's service is the Dataplane's service; an inbound's spans are server spans, an
  outbound's client spans (the listener's traffic direction), so a request across zones is
  one trace: the ZoneIngress passes mTLS through and the trace context travels in headers.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Hashable
from dataclasses import dataclass

from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.core.v3.base_pb2 import TrafficDirection
from envoy.config.trace.v3.datadog_pb2 import DatadogConfig
from envoy.config.trace.v3.http_tracer_pb2 import Tracing
from envoy.config.trace.v3.opentelemetry_pb2 import OpenTelemetryConfig
from envoy.config.trace.v3.zipkin_pb2 import ZipkinConfig
from envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2 import (  # noqa: E501
    HttpConnectionManager,
)
from envoy.extensions.transport_sockets.tls.v3.tls_pb2 import UpstreamTlsContext
from envoy.type.tracing.v3.custom_tag_pb2 import CustomTag
from envoy.type.v3.percent_pb2 import Percent

from meshfabric.policies.core import identifying_service, proxy_conf
from meshfabric.policies.meshtrace.api import TYPE, Backend, Conf, Spec, Tag
from meshfabric.policies.targets import Traffic, collector_cluster, inbounds, outbounds
from meshfabric.resources.common import decimal_of
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext

POLICY_TYPE = TYPE.name
OPEN_TELEMETRY_TRACER = "envoy.tracers.opentelemetry"
ZIPKIN_TRACER = "envoy.tracers.zipkin"
DATADOG_TRACER = "envoy.tracers.datadog"
MESH_TAG = "kuma.mesh"
ZONE_TAG = "kuma.zone"
ZIPKIN_SPANS_PATH = "/api/v2/spans"  # the collector's path when the url names none
_TLS_SOCKET = "envoy.transport_sockets.tls"


@dataclass(frozen=True)
class Where:
    """What a span says about where it was made."""

    mesh: str
    zone: str
    service: str  # the proxy's
    direction: TrafficDirection.ValueType
    destination: str = ""  # an outbound's

    def datadog_service(self, split: bool) -> str:
        """Kuma's Datadog service name: the proxy's, or with splitService the proxy's joined
        with the direction (and an outbound's destination)."""
        if not split:
            return self.service
        if self.direction == TrafficDirection.INBOUND:
            return f"{self.service}_inbound"
        return f"{self.service}_outbound_{self.destination}"


class MeshTracePlugin:
    policy_type = POLICY_TYPE
    order = 900

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        policies = ctx.mesh.policies_of(POLICY_TYPE, Spec)
        if not policies:
            return
        matched = proxy_conf(policies, ctx.proxy)
        ctx.record_match(POLICY_TYPE, list(matched.policies))
        conf = matched.conf
        backend = _backend(conf) if conf is not None else None
        if conf is None or backend is None:
            return
        mesh, zone, service = ctx.mesh.name, ctx.mesh.zone, identifying_service(ctx.proxy)
        if not ctx.outbounds:  # the proxy's own pass: its inbounds and the tracer's cluster
            cluster = tracer_cluster(backend)
            resources.add(cluster.name, cluster)
            for into in inbounds(resources, ctx):
                where = Where(mesh, zone, service, TrafficDirection.INBOUND)
                trace(into, conf, backend, where)
        for out in outbounds(resources, ctx):
            where = Where(mesh, zone, service, TrafficDirection.OUTBOUND, out.destination.name)
            trace(out, conf, backend, where)

    def sharing_key(self, ctx: ProxyContext) -> Hashable:
        """An outbound's spans name the proxy's service."""
        return identifying_service(ctx.proxy)


def _backend(conf: Conf) -> Backend | None:
    """The one backend (validation allows no more), if the proxy can send spans to it."""
    if not conf.backends:
        return None
    backend = conf.backends[0]
    otel = backend.openTelemetry
    return None if otel is not None and not otel.endpoint else backend


def trace(traffic: Traffic, conf: Conf, backend: Backend, where: Where) -> None:
    """Turn tracing on in the traffic's HTTP connection manager (TCP traffic has none)."""
    if traffic.route is None:
        return
    tracing = tracing_config(conf, backend, where)
    traffic.listener.traffic_direction = where.direction

    def edit(hcm: HttpConnectionManager) -> None:
        hcm.tracing.CopyFrom(tracing)
        envoy.want_request_id(hcm)  # it carries the sampling decision

    envoy.edit_filters(traffic.listener, envoy.HCM_FILTER, HttpConnectionManager, edit)


def tracing_config(conf: Conf, backend: Backend, where: Where) -> HttpConnectionManager.Tracing:
    tracing = HttpConnectionManager.Tracing(provider=provider(backend, where))
    tracing.spawn_upstream_span.value = False
    sampling = conf.sampling
    if sampling is not None:
        for field, value in (
            (tracing.overall_sampling, sampling.overall),
            (tracing.client_sampling, sampling.client),
            (tracing.random_sampling, sampling.random),
        ):
            if value is not None:
                field.CopyFrom(_percent(value))
    tracing.custom_tags.extend(custom_tags(conf.tags or [], where))
    return tracing


def _percent(value: int | str) -> Percent:
    number = decimal_of(value)
    assert number is not None  # validated
    return Percent(value=float(number))


def custom_tags(tags: list[Tag], where: Where) -> list[CustomTag]:
    """The policy's tags, then the mesh and zone unless the policy names those itself."""
    result = [_custom_tag(tag) for tag in tags]
    named = {tag.tag for tag in result}
    for name, value in ((MESH_TAG, where.mesh), (ZONE_TAG, where.zone)):
        if name not in named and value:
            result.append(CustomTag(tag=name, literal=CustomTag.Literal(value=value)))
    return result


def _custom_tag(tag: Tag) -> CustomTag:
    if tag.header is not None:
        header = CustomTag.Header(name=tag.header.name, default_value=tag.header.default or "")
        return CustomTag(tag=tag.name, request_header=header)
    return CustomTag(tag=tag.name, literal=CustomTag.Literal(value=tag.literal or ""))


def provider(backend: Backend, where: Where) -> Tracing.Http:
    """The Envoy tracer of the backend, over the backend's cluster."""
    cluster = tracer_cluster_name(backend)
    if backend.zipkin is not None:
        url = urllib.parse.urlsplit(backend.zipkin.url)
        zipkin = ZipkinConfig(
            collector_cluster=cluster,
            collector_endpoint=url.path or ZIPKIN_SPANS_PATH,
            collector_hostname=url.netloc,
            trace_id_128bit=backend.zipkin.traceId128bit,
            collector_endpoint_version=(
                ZipkinConfig.HTTP_PROTO
                if backend.zipkin.apiVersion == "httpProto"
                else ZipkinConfig.HTTP_JSON
            ),
        )
        zipkin.shared_span_context.value = backend.zipkin.sharedSpanContext
        return Tracing.Http(name=ZIPKIN_TRACER, typed_config=envoy.pack(zipkin))
    if backend.datadog is not None:
        service = where.datadog_service(backend.datadog.splitService)
        datadog = DatadogConfig(collector_cluster=cluster, service_name=service)
        return Tracing.Http(name=DATADOG_TRACER, typed_config=envoy.pack(datadog))
    otel = OpenTelemetryConfig(service_name=where.service)
    otel.grpc_service.envoy_grpc.cluster_name = cluster
    return Tracing.Http(name=OPEN_TELEMETRY_TRACER, typed_config=envoy.pack(otel))


def tracer_cluster_name(backend: Backend) -> str:
    url = _collector_url(backend)
    if url is None:
        assert backend.openTelemetry is not None
        return f"meshtrace:opentelemetry:{backend.openTelemetry.endpoint}"
    return f"meshtrace:{backend.type.lower()}:{url.netloc}"


def tracer_cluster(backend: Backend) -> Cluster:
    """The cluster the tracer sends spans over: HTTP/2 to an OpenTelemetry collector, HTTP
    (TLS for an https url, naming the host) to Zipkin, HTTP to the Datadog agent."""
    name = tracer_cluster_name(backend)
    url = _collector_url(backend)
    if url is None:
        assert backend.openTelemetry is not None
        return collector_cluster(name, backend.openTelemetry.endpoint)
    secure = url.scheme == "https"
    host = url.hostname or ""
    cluster = envoy.address_cluster(name, host, url.port or (443 if secure else 80))
    if secure:
        cluster.transport_socket.name = _TLS_SOCKET
        cluster.transport_socket.typed_config.Pack(UpstreamTlsContext(sni=host))
    return cluster


def _collector_url(backend: Backend) -> urllib.parse.SplitResult | None:
    """A Zipkin or Datadog backend's url, parsed; None for OpenTelemetry."""
    if backend.zipkin is not None:
        return urllib.parse.urlsplit(backend.zipkin.url)
    if backend.datadog is not None:
        return urllib.parse.urlsplit(backend.datadog.url)
    return None


PLUGIN = MeshTracePlugin()
