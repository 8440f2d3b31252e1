"""MeshAccessLog: what the golden files cannot show, as they build one proxy."""

from __future__ import annotations

from typing import Any

from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.extensions.access_loggers.file.v3.file_pb2 import FileAccessLog
from envoy.extensions.access_loggers.open_telemetry.v3.logs_service_pb2 import (
    OpenTelemetryAccessLogConfig,
)
from envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2 import (  # noqa: E501
    HttpConnectionManager,
)

from meshfabric.dataplane_api.node import Features
from meshfabric.policies.meshaccesslog.api import PLACEHOLDERS
from meshfabric.policies.meshaccesslog.plugin import Placeholders
from meshfabric.resources import Resource
from meshfabric.xds.envoy import names, types
from meshfabric.xds.generate.profile import build_resources
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.proxy_context import ProxyContext
from tests.unit.policies.generation import dataplane, get, policy

BACKEND_LISTENER = names.outbound_listener("127.0.0.1", 10000)


def file_log(line: str) -> dict[str, Any]:
    return {
        "type": "File",
        "file": {"path": "/tmp/access.log", "format": {"type": "Plain", "plain": line}},
    }


def mesh_with(*resources: Resource) -> MeshContext:
    mesh = MeshContext("default", "us-east-1")
    mesh.put(Resource("Mesh", "", "default", {}))
    for resource in resources:
        mesh.put(resource)
    return mesh


def outbound_access_logs(mesh: MeshContext, proxy_name: str, features: Features) -> list[Any]:
    proxy = mesh.proxy(proxy_name)
    assert proxy is not None
    ctx = ProxyContext.of(mesh, proxy, identity=None, features=features)
    listener: Listener = get(build_resources(ctx), types.LISTENER, BACKEND_LISTENER)
    hcm = HttpConnectionManager()
    listener.filter_chains[0].filters[0].typed_config.Unpack(hcm)
    return list(hcm.access_log)


def to_everything(backend: dict[str, Any]) -> Resource:
    to = [{"targetRef": {"kind": "Mesh"}, "default": {"backends": [backend]}}]
    spec = {"targetRef": {"kind": "Mesh"}, "to": to}
    return policy("MeshAccessLog", "everything", spec)


def test_proxies_of_different_services_each_log_their_own_name_on_a_shared_outbound() -> None:
    mesh = mesh_with(
        dataplane("web-1", "web", "http", 8080, "backend"),
        dataplane("mobile-1", "mobile", "http", 8090, "backend"),
        dataplane("backend-1", "backend", "http", 8081),
        to_everything(file_log("%KUMA_SOURCE_SERVICE%->%KUMA_DESTINATION_SERVICE%")),
    )
    lines = {}
    for name in ("web-1", "mobile-1"):
        [log] = outbound_access_logs(mesh, name, Features())
        config = FileAccessLog()
        log.typed_config.Unpack(config)
        lines[name] = config.log_format.text_format_source.inline_string
    assert lines == {"web-1": "web->backend\n", "mobile-1": "mobile->backend\n"}


def test_a_tcp_backend_writes_to_meshfabric_dps_fifo_and_is_left_out_without_one() -> None:
    tcp = {"type": "Tcp", "tcp": {"address": "127.0.0.1:514"}}
    mesh = mesh_with(
        dataplane("web-1", "web", "http", 8080, "backend"),
        dataplane("backend-1", "backend", "http", 8081),
        to_everything(tcp),
    )
    assert outbound_access_logs(mesh, "web-1", Features()) == []
    [log] = outbound_access_logs(mesh, "web-1", Features(access_log_pipe="/run/web-1.fifo"))
    config = FileAccessLog()
    log.typed_config.Unpack(config)
    assert config.path == "/run/web-1.fifo"
    assert set(config.log_format.json_format.fields) == {"address", "message"}


def test_an_opentelemetry_body_that_is_not_an_any_value_is_logged_as_its_text() -> None:
    otel = {
        "type": "OpenTelemetry",
        "openTelemetry": {"endpoint": "127.0.0.1:4317", "body": {"zone": "%KUMA_ZONE%"}},
    }
    mesh = mesh_with(
        dataplane("web-1", "web", "http", 8080, "backend"),
        dataplane("backend-1", "backend", "http", 8081),
        to_everything(otel),
    )
    [log] = outbound_access_logs(mesh, "web-1", Features())
    config = OpenTelemetryAccessLogConfig()
    log.typed_config.Unpack(config)
    assert config.body.string_value == '{"zone": "us-east-1"}'


def test_every_placeholder_a_policy_may_name_is_substituted() -> None:
    where = Placeholders("default", "us-east-1", "outbound", "web", "backend", "10.0.0.1")
    assert set(where.values()) == set(PLACEHOLDERS)
