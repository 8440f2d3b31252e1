"""Translate MeshAccessLog: each backend becomes an Envoy access logger on the HTTP connection
manager or TCP proxy of the inbounds (`from`, `rules`) and outbounds (`to`) it applies to.

- File: Envoy's file logger writes the lines to the path.
- Tcp: Envoy has no TCP logger. As Kuma does, the file logger writes each line as JSON
  `{"address": ..., "message": ...}` to a FIFO that meshfabric-dp reads (its node metadata
  names it) and forwards to the address (meshfabric.dp.access_log); without that FIFO, no
  Tcp logger.
- OpenTelemetry: Envoy's OpenTelemetry logger, over a gRPC cluster to the endpoint.

Kuma's placeholders (`%KUMA_MESH%`, `%KUMA_SOURCE_SERVICE%`, ...) are substituted here, and
so is `%KUMA_ZONE%`, the zone of the proxy: Envoy sees only its own command operators.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from envoy.config.accesslog.v3.accesslog_pb2 import AccessLog
from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.core.v3.base_pb2 import DataSource
from envoy.config.core.v3.config_source_pb2 import ApiVersion
from envoy.config.core.v3.substitution_format_string_pb2 import SubstitutionFormatString
from envoy.extensions.access_loggers.file.v3.file_pb2 import FileAccessLog
from envoy.extensions.access_loggers.open_telemetry.v3.logs_service_pb2 import (
    OpenTelemetryAccessLogConfig,
)
from envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2 import (  # noqa: E501
    HttpConnectionManager,
)
from envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2 import TcpProxy
from google.protobuf import json_format
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from meshfabric.policies.core import identifying_service, selects, target_ref
from meshfabric.policies.meshaccesslog.api import (
    PLACEHOLDER,
    TYPE,
    Backend,
    Conf,
    Format,
    Spec,
)
from meshfabric.policies.targets import Traffic, collector_cluster, inbound_confs, outbound_confs
from meshfabric.resources.common import confs
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext

POLICY_TYPE = TYPE.name
FILE_LOGGER = "envoy.access_loggers.file"
OPEN_TELEMETRY_LOGGER = "envoy.access_loggers.open_telemetry"

# Kuma's default formats (pkg/plugins/policies/meshaccesslog/plugin/xds/configurer.go).
DEFAULT_TCP_FORMAT = (
    "[%START_TIME%] %RESPONSE_FLAGS% %KUMA_MESH% %KUMA_SOURCE_ADDRESS_WITHOUT_PORT%"
    "(%KUMA_SOURCE_SERVICE%)->%UPSTREAM_HOST%(%KUMA_DESTINATION_SERVICE%) took %DURATION%ms,"
    " sent %BYTES_SENT% bytes, received: %BYTES_RECEIVED% bytes"
)
DEFAULT_HTTP_FORMAT = (
    '[%START_TIME%] %KUMA_MESH% "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"'
    " %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%"
    ' %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"'
    ' "%REQ(X-B3-TRACEID?X-DATADOG-TRACEID)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%"'
    ' "%KUMA_SOURCE_SERVICE%" "%KUMA_DESTINATION_SERVICE%" "%KUMA_SOURCE_ADDRESS_WITHOUT_PORT%"'
    ' "%UPSTREAM_HOST%"'
)


@dataclass(frozen=True)
class Placeholders:
    """The values of Kuma's placeholders for one direction of one proxy's traffic."""

    mesh: str
    zone: str
    direction: str  # inbound or outbound
    source_service: str
    destination_service: str
    address: str  # the proxy's

    def values(self) -> Mapping[str, str]:
        """By name: every name in PLACEHOLDERS."""
        return {
            "KUMA_MESH": self.mesh,
            "KUMA_ZONE": self.zone,
            "KUMA_TRAFFIC_DIRECTION": self.direction,
            "KUMA_SOURCE_SERVICE": self.source_service,
            "KUMA_DESTINATION_SERVICE": self.destination_service,
            "KUMA_SOURCE_ADDRESS": f"{self.address}:0",
            "KUMA_SOURCE_ADDRESS_WITHOUT_PORT": self.address,
        }

    def substitute(self, text: str) -> str:
        values = self.values()
        return PLACEHOLDER.sub(lambda found: values.get(found[1], found[0]), text)


class MeshAccessLogPlugin:
    policy_type = POLICY_TYPE
    order = 800

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        if not ctx.outbounds:  # the proxy's own pass: its inbounds and its collectors
            for cluster in collector_clusters(ctx):
                resources.add(cluster.name, cluster)
        service = identifying_service(ctx.proxy)
        for out, conf in outbound_confs(POLICY_TYPE, Spec, resources, ctx):
            where = _placeholders(ctx, "outbound", service, out.destination.name)
            add_access_logs(out, conf, where, ctx.features.access_log_pipe)
        for into, conf in inbound_confs(POLICY_TYPE, Spec, resources, ctx):
            where = _placeholders(ctx, "inbound", "*", into.inbound.service)
            add_access_logs(into, conf, where, ctx.features.access_log_pipe)

    def sharing_key(self, ctx: ProxyContext) -> Hashable:
        """Outbound log lines name the proxy's service and address and go to its own FIFO."""
        return (identifying_service(ctx.proxy), ctx.proxy.address, ctx.features.access_log_pipe)


def _placeholders(ctx: ProxyContext, direction: str, source: str, destination: str) -> Placeholders:
    mesh, address = ctx.mesh, ctx.proxy.address
    return Placeholders(mesh.name, mesh.zone, direction, source, destination, address)


def add_access_logs(traffic: Traffic, conf: Conf, where: Placeholders, pipe: str) -> None:
    http = traffic.route is not None
    logs = [
        log
        for backend in conf.backends or []
        if (log := access_log(backend, where, http, pipe)) is not None
    ]
    if not logs:
        return
    if http:

        def edit(hcm: HttpConnectionManager) -> None:
            hcm.access_log.extend(logs)
            envoy.want_request_id(hcm)  # the default format prints it

        envoy.edit_filters(traffic.listener, envoy.HCM_FILTER, HttpConnectionManager, edit)
    else:
        envoy.edit_filters(
            traffic.listener,
            envoy.TCP_PROXY_FILTER,
            TcpProxy,
            lambda tcp: tcp.access_log.extend(logs),
        )


def access_log(backend: Backend, where: Placeholders, http: bool, pipe: str) -> AccessLog | None:
    """The Envoy logger of one backend, or None for one this proxy cannot serve (a Tcp
    backend without meshfabric-dp's FIFO, an OpenTelemetry backend by backendRef)."""
    default = DEFAULT_HTTP_FORMAT if http else DEFAULT_TCP_FORMAT
    if backend.file is not None:
        line = log_format(backend.file.format, default, where)
        return _file_log(backend.file.path, line)
    if backend.tcp is not None:
        if not pipe:
            return None
        line = log_format(backend.tcp.format, default, where)
        return _file_log(pipe, _forwarded(line, backend.tcp.address))
    otel = backend.openTelemetry
    if otel is None or not otel.endpoint:
        return None
    config = OpenTelemetryAccessLogConfig()
    config.common_config.log_name = POLICY_TYPE
    config.common_config.transport_api_version = ApiVersion.V3
    config.common_config.grpc_service.envoy_grpc.cluster_name = collector_cluster_name(
        otel.endpoint
    )
    body = otel.body if otel.body is not None else default
    config.body.CopyFrom(any_value(body, where))
    for attribute in otel.attributes or []:
        value = AnyValue(string_value=where.substitute(attribute.value))
        config.attributes.values.append(KeyValue(key=attribute.key, value=value))
    return AccessLog(name=OPEN_TELEMETRY_LOGGER, typed_config=envoy.pack(config))


def log_format(
    format_: Format | None, default: str, where: Placeholders
) -> SubstitutionFormatString:
    """A line: plain text (Kuma's default when no format is given) or a JSON object."""
    if format_ is not None and format_.type == "Json":
        fields = {field.key: where.substitute(field.value) for field in format_.json_ or []}
        line = SubstitutionFormatString(omit_empty_values=format_.omitEmptyValues)
        line.json_format.update(fields)
        return line
    text = format_.plain if format_ is not None and format_.plain else default
    omit = format_.omitEmptyValues if format_ is not None else False
    source = DataSource(inline_string=where.substitute(text) + "\n")
    return SubstitutionFormatString(text_format_source=source, omit_empty_values=omit)


def _forwarded(line: SubstitutionFormatString, address: str) -> SubstitutionFormatString:
    """The line wrapped for meshfabric-dp: the address to send it to, and the message."""
    wrapped = SubstitutionFormatString(omit_empty_values=line.omit_empty_values)
    message: Any
    if line.HasField("json_format"):
        message = json_format.MessageToDict(line.json_format)
    else:
        message = line.text_format_source.inline_string.removesuffix("\n")
    wrapped.json_format.update({"address": address, "message": message})
    return wrapped


def _file_log(path: str, line: SubstitutionFormatString) -> AccessLog:
    config = FileAccessLog(path=path, log_format=line)
    return AccessLog(name=FILE_LOGGER, typed_config=envoy.pack(config))


def any_value(body: Any, where: Placeholders) -> AnyValue:
    """An OpenTelemetry log body: a string, or an AnyValue in its JSON form (as Kuma takes
    it: `{kvlistValue: {values: [...]}}`), placeholders substituted in its strings."""
    if isinstance(body, str):
        return AnyValue(string_value=where.substitute(body))
    value = AnyValue()
    try:
        json_format.ParseDict(_substituted(body, where), value)
    except json_format.ParseError:  # any other JSON: logged as its text
        return AnyValue(string_value=where.substitute(json.dumps(body, sort_keys=True)))
    return value


def _substituted(value: Any, where: Placeholders) -> Any:
    if isinstance(value, str):
        return where.substitute(value)
    if isinstance(value, list):
        return [_substituted(item, where) for item in value]
    if isinstance(value, dict):
        return {key: _substituted(item, where) for key, item in value.items()}
    return value


def collector_cluster_name(endpoint: str) -> str:
    return f"meshaccesslog:opentelemetry:{endpoint}"


def collector_clusters(ctx: ProxyContext) -> Iterator[Cluster]:
    """A gRPC cluster for each OpenTelemetry endpoint of the policies selecting the proxy,
    built once for the proxy, as every outbound's logger may use it."""
    endpoints = sorted(
        {
            backend.openTelemetry.endpoint
            for policy in ctx.mesh.policies_of(POLICY_TYPE, Spec)
            if selects(target_ref(policy.fields), ctx.proxy)
            for _, _, conf in confs(policy.fields)
            for backend in conf.backends or []
            if backend.openTelemetry is not None and backend.openTelemetry.endpoint
        }
    )
    for endpoint in endpoints:
        yield collector_cluster(collector_cluster_name(endpoint), endpoint)


PLUGIN = MeshAccessLogPlugin()
