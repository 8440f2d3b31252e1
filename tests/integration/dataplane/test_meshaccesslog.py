"""MeshAccessLog on real Envoys: applying a policy makes both sides of a call write access-log
lines to the file backend, removing it stops them; calls keep succeeding meanwhile and no
Envoy restarts. An OpenTelemetry backend's records reach a real OTLP gRPC receiver."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tests.integration.dataplane.conftest import Pair, PairFactory
from tests.integration.dataplane.support import HttpApp, ZoneControlPlane, permission, status_of
from tests.support.net import wait_until
from tests.support.otlp import serve_export

pytestmark = pytest.mark.envoy

LINE = [
    {"key": "zone", "value": "%KUMA_ZONE%"},
    {"key": "direction", "value": "%KUMA_TRAFFIC_DIRECTION%"},
    {"key": "source", "value": "%KUMA_SOURCE_SERVICE%"},
    {"key": "destination", "value": "%KUMA_DESTINATION_SERVICE%"},
    {"key": "path", "value": "%REQ(:PATH)%"},
    {"key": "status", "value": "%RESPONSE_CODE%"},
]


def access_log(path: Path) -> dict[str, Any]:
    backend = {
        "type": "File",
        "file": {"path": str(path), "format": {"type": "Json", "json": LINE}},
    }
    default = {"backends": [backend]}
    return {
        "type": "MeshAccessLog",
        "mesh": "default",
        "name": "everything",
        "spec": {
            "targetRef": {"kind": "Mesh"},
            "to": [{"targetRef": {"kind": "Mesh"}, "default": default}],
            "from": [{"targetRef": {"kind": "Mesh"}, "default": default}],
        },
    }


# What each side logs of the call to /logged, besides its direction and its source (Envoy
# writes the status as a JSON number).
LOGGED = {"zone": "default", "destination": "backend", "path": "/logged", "status": 200}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@contextmanager
def steady_calls(url: str) -> Iterator[Counter[int]]:
    """Calls the URL over and over, each on a new connection, until the block ends; yields
    the count of each status seen (0 for a call that got no answer)."""
    statuses: Counter[int] = Counter()
    done = threading.Event()

    def call() -> None:
        while not done.is_set():
            statuses[status_of(url + "steady")] += 1

    thread = threading.Thread(target=call)
    thread.start()
    try:
        yield statuses
    finally:
        done.set()
        thread.join()


def loggers_in_place(services: Pair) -> list[bool]:
    """Per proxy, whether its listeners have a file access logger."""
    dumps = [proxy.admin("/config_dump?resource=dynamic_listeners") for proxy in services.proxies]
    return ["envoy.access_loggers.file" in dump for dump in dumps]


def test_both_sides_log_a_call_while_the_policy_exists_and_no_call_fails(
    control_plane: ZoneControlPlane, mesh: str, pair: PairFactory, tmp_path: Path
) -> None:
    control_plane.apply(permission(mesh, "web-to-backend", "backend", "web"))
    log = tmp_path / "access.json"
    with HttpApp() as backend_app:
        services = pair(backend_app.port, "http")
        wait_until(lambda: status_of(services.url) == 200, 10, "the call to be allowed")
        with steady_calls(services.url) as statuses:
            control_plane.apply(access_log(log))
            wait_until(lambda: all(loggers_in_place(services)), 10, "the loggers")
            assert status_of(services.url + "logged") == 200
            outbound = {"direction": "outbound", "source": "web", **LOGGED}
            inbound = {"direction": "inbound", "source": "*", **LOGGED}
            # Each Envoy flushes its lines on its own, within a second.
            wait_until(lambda: outbound in lines(log) and inbound in lines(log), 10, "both lines")

            control_plane.delete("default", "meshaccesslogs", "everything")
            wait_until(lambda: not any(loggers_in_place(services)), 20, "the loggers to go")
            assert status_of(services.url + "unlogged") == 200
        assert not [line for line in lines(log) if line["path"] == "/unlogged"]
        assert set(statuses) == {200} and statuses[200] > 0
        assert [proxy.envoy_starts() for proxy in services.proxies] == [1, 1]
        assert [proxy.rejected_updates() for proxy in services.proxies] == [0, 0]


class LogsReceiver:
    """OTLP/gRPC's LogsService: keeps each record's body and attributes."""

    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, str]]] = []

    def export(self, request: ExportLogsServiceRequest, context: Any) -> ExportLogsServiceResponse:
        for resource_logs in request.resource_logs:
            # The OTLP of xds-protos' messages, before scope_logs and log_records were named so.
            for library_logs in resource_logs.instrumentation_library_logs:
                for record in library_logs.logs:
                    attributes = {kv.key: _text(kv.value) for kv in record.attributes}
                    self.records.append((_text(record.body), attributes))
        return ExportLogsServiceResponse()


def _text(value: AnyValue) -> str:
    return value.string_value if value.HasField("string_value") else str(value)


@pytest.fixture
def otlp_receiver() -> Iterator[tuple[LogsReceiver, int]]:
    receiver = LogsReceiver()
    service = "opentelemetry.proto.collector.logs.v1.LogsService"
    with serve_export(service, ExportLogsServiceRequest, receiver.export) as port:
        yield receiver, port


def test_an_opentelemetry_backends_records_reach_a_real_otlp_receiver(
    control_plane: ZoneControlPlane,
    mesh: str,
    pair: PairFactory,
    otlp_receiver: tuple[LogsReceiver, int],
) -> None:
    receiver, port = otlp_receiver
    control_plane.apply(permission(mesh, "web-to-backend", "backend", "web"))
    otel = {
        "endpoint": f"127.0.0.1:{port}",
        "body": "%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% to %KUMA_DESTINATION_SERVICE%",
        "attributes": [{"key": "mesh.zone", "value": "%KUMA_ZONE%"}],
    }
    default = {"backends": [{"type": "OpenTelemetry", "openTelemetry": otel}]}
    policy = {
        "type": "MeshAccessLog",
        "mesh": "default",
        "name": "otel",
        "spec": {
            "targetRef": {"kind": "Mesh"},
            "from": [{"targetRef": {"kind": "Mesh"}, "default": default}],
        },
    }
    with HttpApp() as backend_app:
        services = pair(backend_app.port, "http")
        wait_until(lambda: status_of(services.url) == 200, 10, "the call to be allowed")
        control_plane.apply(policy)
        expected = ("GET /otel-call 200 to backend", {"mesh.zone": "default"})
        wait_until(
            lambda: status_of(services.url + "otel-call") == 200 and expected in receiver.records,
            15,
            "the record at the receiver",
        )
        assert [proxy.rejected_updates() for proxy in services.proxies] == [0, 0]
