"""The demo's ending, where to look: one Prometheus at global for both zones, the trace of one
cross-zone request in Phoenix and its access-log lines at one rsyslog, fed by the MeshTrace
and MeshAccessLog (TELEMETRY) made at global."""

from __future__ import annotations

import json
import shlex
import uuid
from functools import partial
from typing import Any

from demo_lab import (
    GLOBAL,
    GLOBAL_ADDRESS,
    MULTIZONE_NAME,
    ZONES,
    Demo,
    step,
)

from meshfabric.lab import phoenix
from meshfabric.lab.envoy_admin import Admin, admin_get
from meshfabric.lab.firewall import OTLP_PORT, SYSLOG_PORT
from meshfabric.lab.phoenix import Span
from meshfabric.telemetry.dashboards import DASHBOARDS, resolved

PROMETHEUS = "127.0.0.1:9090"  # in global's host
PROMETHEUS_METRICS = """\
type: MeshMetric
mesh: default
name: prometheus
spec:
  targetRef:
    kind: Mesh
  default:
    backends:
      - type: Prometheus
        prometheus:
          port: 5670
"""


def where_to_look(demo: Demo) -> None:
    step("Where to look: one Prometheus in global's host, for the proxies of both zones")
    print("(deployed by site.yml's telemetry role: it finds every zone's proxies through "
          "global's discovery endpoint, with a read-only user token the role issued)")  # fmt: skip
    demo.meshctl(GLOBAL, "apply", "-f", "-", stdin=PROMETHEUS_METRICS)
    [mesh] = [board for board in DASHBOARDS if board.uid == "meshfabric-mesh"]
    panels = {panel.title: resolved(panel.expr, {"mesh": "default"}, "1m") for panel in mesh.panels}
    online, requests = panels["Proxies online"], panels["Inbound requests per second"]
    demo.wait(GLOBAL, lambda: len(promql(demo, requests)) == 2, "both zones scraped", 60)
    for expression in (online, requests):
        print(f"\033[2m[{GLOBAL}] PromQL: {expression}\033[0m", flush=True)
        for sample in promql(demo, expression):
            print(f"  zone={sample['metric']['zone']}: {float(sample['value'][1]):.3g}")
    print(f"the same on one page: http://{PROMETHEUS}/consoles/meshfabric.html in {GLOBAL};")
    print(f"Grafana's dashboards: {demo.dashboards()} (meshctl generate dashboards)")


BOOKING = "KA-0042"  # the header that marks one request's spans (a MeshTrace tag)
TRACED_PATH = f"/flights/{BOOKING}"
ACCESS_LOG_LINE = (
    "zone=%KUMA_ZONE% direction=%KUMA_TRAFFIC_DIRECTION% "
    "%KUMA_SOURCE_SERVICE%->%KUMA_DESTINATION_SERVICE% path=%REQ(:PATH)% status=%RESPONSE_CODE%"
)
ACCESS_LOG = {
    "backends": [
        {
            "type": "Tcp",
            "tcp": {
                "address": f"{GLOBAL_ADDRESS}:{SYSLOG_PORT}",
                "format": {"type": "Plain", "plain": ACCESS_LOG_LINE},
            },
        }
    ]
}
TELEMETRY = "\n---\n".join(
    json.dumps(document)  # JSON is YAML
    for document in (
        {
            "type": "MeshTrace",
            "mesh": "default",
            "name": "traces",
            "spec": {
                "targetRef": {"kind": "Mesh"},
                "default": {
                    "backends": [
                        {
                            "type": "OpenTelemetry",
                            "openTelemetry": {"endpoint": f"{GLOBAL_ADDRESS}:{OTLP_PORT}"},
                        }
                    ],
                    # Only requests that ask for it (x-client-trace-id) are traced: booking's
                    # steady calls would flood Phoenix with thousands of traces.
                    "sampling": {"random": 0, "client": 100},
                    "tags": [{"name": "booking", "header": {"name": "x-booking"}}],
                },
            },
        },
        {
            "type": "MeshAccessLog",
            "mesh": "default",
            "name": "central",
            "spec": {
                "targetRef": {"kind": "Mesh"},
                "to": [{"targetRef": {"kind": "Mesh"}, "default": ACCESS_LOG}],
                "from": [{"targetRef": {"kind": "Mesh"}, "default": ACCESS_LOG}],
            },
        },
    )
)


def observes(admin: Admin) -> bool:
    """The proxy's listeners trace (OpenTelemetry) and log (to meshfabric-dp's fifo)."""
    listeners = admin_get(admin, "/config_dump?resource=dynamic_listeners")
    return "envoy.tracers.opentelemetry" in listeners and "access-log.fifo" in listeners


def one_request(demo: Demo) -> None:
    """While flight-control answers from eu-west-1 alone: one request from booking, marked
    by its x-booking header, whose trace and log lines the demo shows at its end."""
    assert demo.traces is not None
    demo.traces.wait_ready()  # started at the beginning: spans sent before it is up are lost
    url = f"http://{MULTIZONE_NAME}:8080{TRACED_PATH}"
    trace_id = uuid.uuid4()  # asks booking's sidecar to trace this request
    command = [
        "curl",
        "-sf",
        "-H",
        f"x-booking: {BOOKING}",
        "-H",
        f"x-client-trace-id: {trace_id}",
        url,
    ]
    print(f"\033[2m[us-east-1/client-1] $ {shlex.join(command)}\033[0m", flush=True)
    done = demo.lab.host("us-east-1/client-1").run(
        command, capture_output=True, text=True, check=False
    )
    print(done.stdout.strip(), flush=True)
    if done.returncode != 0 or json.loads(done.stdout).get("service") != "eu-west-1":
        raise SystemExit(f"the marked request was not answered by eu-west-1: {done}")


def the_trace(demo: Demo) -> None:
    step("Where to look: that request's trace in Phoenix, one trace with a span from each zone")
    assert demo.traces is not None
    marked = partial(demo.traces.spans, f"booking:{BOOKING}")
    demo.wait(GLOBAL, lambda: spans_from_both_zones(marked()), "both zones' spans in Phoenix")
    for trace_id, spans in phoenix.traces(marked()).items():
        print(f"trace {trace_id}: {len(spans)} spans")
        for span in sorted(spans, key=lambda span: span.parent_id is not None):
            print(f"  {describe(span)}")
    namespace = demo.lab.host(GLOBAL).namespace
    print(f"Phoenix's own pages show it: http://127.0.0.1:{phoenix.HTTP_PORT}/ (project default) "
          f"in {GLOBAL}, network namespace {namespace}")  # fmt: skip


def spans_from_both_zones(spans: list[Span]) -> bool:
    return {span.attributes.get("kuma.zone") for span in spans} >= set(ZONES)


def describe(span: Span) -> str:
    parent = f"child of {span.parent_id}" if span.parent_id else "root"
    attributes = span.attributes
    return (f"span {span.span_id} kuma.zone={attributes.get('kuma.zone')} "
            f"node={attributes.get('node_id')} {parent}: {span.name}")  # fmt: skip


def the_access_log(demo: Demo) -> None:
    step("Its access-log lines, one from each zone, at one rsyslog in global's host")
    received = demo.access_log()

    def marked() -> list[str]:
        lines = received.read_text().splitlines() if received.exists() else []
        return [line for line in lines if f" path={TRACED_PATH} " in line]

    def from_both_zones() -> bool:
        return all(any(f"zone={zone} " in line for line in marked()) for zone in ZONES)

    demo.wait(GLOBAL, from_both_zones, "both zones' lines at rsyslog", 30)
    for line in marked():
        print(f"  {line}")
    print(
        f"every zone's lines: {received} (rsyslog in {GLOBAL}, TCP {GLOBAL_ADDRESS}:{SYSLOG_PORT})"
    )


def promql(demo: Demo, expression: str) -> list[dict[str, Any]]:
    """An instant query, asked from inside global's host; nothing until Prometheus is up."""
    command = ["curl", "-sf", "-G", f"http://{PROMETHEUS}/api/v1/query",
               "--data-urlencode", f"query={expression}"]  # fmt: skip
    done = demo.lab.host(GLOBAL).run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return []
    result: list[dict[str, Any]] = json.loads(done.stdout)["data"]["result"]
    return result
