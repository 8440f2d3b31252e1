"""One request across zones is one trace, in the lab: a MeshTrace made at global sends every
sidecar's spans to Arize Phoenix in global's control-plane host (the monitoring host, whose
firewall lets in OTLP from the app hosts alone). A request from client-1 in us-east-1 to
flight-control, served in eu-west-1 alone, passes eu-west-1's ingress (mTLS passthrough: the
trace context travels in the headers) and leaves one trace holding the client's span from
us-east-1 and, as its child, the server's span from eu-west-1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from meshfabric.lab import Lab
from meshfabric.lab.call_loop import calls
from meshfabric.lab.envoy_admin import admin_get
from meshfabric.lab.firewall import OTLP_PORT
from meshfabric.lab.phoenix import Phoenix, Span, in_lab_host, traces
from tests.integration.lab.support import needs_namespaces
from tests.integration.multizone.kong_air_lab import (
    GLOBAL,
    MESH,
    OUTBOUND_PORT,
    SERVICE,
    kill_instance,
    kong_air_mesh,
    start_load,
)
from tests.support.net import wait_until

# The lab and Phoenix start side by side; on a busy machine together they outlast the
# default 300 s.
pytestmark = [
    pytest.mark.lab,
    pytest.mark.envoy,
    pytest.mark.slow,
    needs_namespaces,
    pytest.mark.timeout(600),
]

MONITORING = "10.10.0.10"  # global's control-plane host (docs/lab.md)
TRACED_PATH = "/booking-42"


def meshtrace() -> dict[str, Any]:
    backend = {"type": "OpenTelemetry", "openTelemetry": {"endpoint": f"{MONITORING}:{OTLP_PORT}"}}
    return {
        "type": "MeshTrace",
        "mesh": MESH,
        "name": "traces",
        "spec": {"targetRef": {"kind": "Mesh"}, "default": {"backends": [backend]}},
    }


@pytest.fixture
def store(lab: Lab, tmp_path: Path) -> Iterator[Phoenix]:
    """Phoenix starting in the monitoring host (not yet ready), its HTTP API asked from
    inside that host."""
    running = in_lab_host(lab.host(GLOBAL), tmp_path / "phoenix")
    try:
        yield running
    finally:
        running.stop()


def traces_through(admin: Path) -> bool:
    return "envoy.tracers.opentelemetry" in admin_get(
        admin, "/config_dump?resource=dynamic_listeners"
    )


def test_in_the_lab_a_request_from_us_east_1_to_eu_west_1_is_one_trace_with_both_zones_spans(
    lab: Lab, tmp_path: Path, store: Phoenix
) -> None:
    cluster, admins = kong_air_mesh(lab, tmp_path)
    # Before any call, so that every connection is opened with tracing on (Envoy keeps an
    # open connection on the listener config it was accepted with).
    cluster.api(GLOBAL, "PUT", f"/meshes/{MESH}/meshtraces/traces", meshtrace())
    for proxy in ("client", "server-eu-west-1", "server-us-east-1"):
        wait_until(partial(traces_through, admins[proxy]), 30, f"tracing in {proxy}")
    store.wait_ready()
    kill_instance(cluster, "us-east-1")  # flight-control now answers from eu-west-1 alone
    out, stop = start_load(cluster, tmp_path)
    wait_until(
        lambda: [c.get("service") for c in calls(out)][-5:] == ["eu-west-1"] * 5,
        60,
        "answers from eu-west-1",
    )
    stop.touch()
    cluster.processes["load"].wait(10)

    url = f"http://127.0.0.1:{OUTBOUND_PORT}{TRACED_PATH}"
    answer = lab.host("us-east-1/client-1").run(
        ["curl", "-sf", url], capture_output=True, text=True, check=True
    )
    assert json.loads(answer.stdout)["service"] == "eu-west-1"

    def spans_of_the_request() -> list[Span]:
        return [s for s in store.spans() if s.attributes.get("http.url", "").endswith(TRACED_PATH)]

    wait_until(lambda: len(spans_of_the_request()) >= 2, 60, "both zones' spans in Phoenix")
    [(trace_id, spans)] = traces(spans_of_the_request()).items()
    by_zone = {span.attributes["kuma.zone"]: span for span in spans}
    assert sorted(by_zone) == ["eu-west-1", "us-east-1"]
    client, server = by_zone["us-east-1"], by_zone["eu-west-1"]
    assert client.parent_id is None and server.parent_id == client.span_id
    assert client.attributes["node_id"] == f"{MESH}.web-1"
    assert server.attributes["node_id"] == f"{MESH}.{SERVICE}-1"
    assert {span.trace_id for span in spans} == {trace_id}
