"""Kong Air in three zones of the local lab: a global control plane and two zone control
planes joined over KDS with zone tokens, a mesh and its policies made at global reaching
both zones, a MeshService made in us-east-1 reaching global and eu-west-1 under Kuma's
names, a stolen zone token refused; then booking in us-east-1 calling flight-control by its
one name, `flight-control.mzsvc.mesh.local` (a MeshMultiZoneService made at global, resolved
by booking's own sidecar), under steady load: answered locally, failing over to eu-west-1
through its ingress when the local instance dies and back when it returns, with the
failed-request count; then where to look: one Prometheus at global answering for both zones
(the dashboards' queries, the console page), the trace of one request that crossed from
us-east-1 to eu-west-1 during the failover (one trace in Arize Phoenix, a span from each
zone) and its access-log lines from both zones at one rsyslog, both sinks in global's host
and fed by a MeshTrace and a MeshAccessLog made at global; last, a zone whose control plane
freezes shown offline.

Every control plane runs in its own lab host (network namespace) behind the lab's zone
firewalls; meshctl runs in the host of the control plane it talks to. `meshfabric-lab down`
at the end removes every host and ends every process started in them.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from meshfabric.lab import KONG_AIR, Lab, LabHost, call_loop, log_sink, phoenix
from meshfabric.lab.envoy_admin import admin_get, endpoint_priorities, is_live
from meshfabric.lab.firewall import OTLP_PORT, SYSLOG_PORT
from meshfabric.lab.log_sink import LogSink
from meshfabric.lab.phoenix import Phoenix, Span
from meshfabric.telemetry import write_dashboards
from meshfabric.telemetry.dashboards import DASHBOARDS, resolved

REPO = Path(__file__).resolve().parents[2]
GLOBAL = "global/control-plane"
ZONES = ("us-east-1", "eu-west-1")
GLOBAL_ADDRESS = "10.10.0.10"  # global/control-plane in the kong-air topology (docs/lab.md)
LANS = {"us-east-1": "10.10.1", "eu-west-1": "10.10.2"}
MULTIZONE_NAME = "flight-control.mzsvc.mesh.local"  # the default HostnameGenerator's name
MULTIZONE_CLUSTER = "flight-control_mzsvc_8080"  # its cluster in booking's Envoy
ECHO_APP = REPO / "scripts" / "demo" / "echo_app.py"


def step(text: str) -> None:
    print(f"\n\033[1;36m== {text}\033[0m", flush=True)


class Demo:
    def __init__(self, lab: Lab, work: Path) -> None:
        self.lab = lab
        self.work = work
        self.control_planes: dict[str, subprocess.Popen[bytes]] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        # Started first, as Phoenix takes a while; lab.down() ends them.
        self.traces: Phoenix | None = None
        self.logs: LogSink | None = None

    def start_sinks(self) -> None:
        """Phoenix (starting in the background) and rsyslog in global's host."""
        host = self.lab.host(GLOBAL)
        print(f"\033[2m[{GLOBAL}] $ phoenix serve  (OTLP on :{OTLP_PORT}, starting in the "
              "background)\033[0m", flush=True)  # fmt: skip
        self.traces = phoenix.in_lab_host(host, self.work / "phoenix")
        print(f"\033[2m[{GLOBAL}] $ rsyslogd -n  (syslog on {host.address}:{SYSLOG_PORT})\033[0m")
        self.logs = log_sink.in_lab_host(host, self.work / "rsyslog")

    def meshctl(self, host: str, *args: str, stdin: str | None = None, secret: bool = False) -> str:
        """Run meshctl in `host` against its own control plane, showing the command and,
        unless it is a secret, what it printed."""
        print(f"\033[2m[{host}] $ meshctl {shlex.join(args)}\033[0m", flush=True)
        done = self.lab.host(host).run(
            ["meshctl", *args],
            env=self._meshctl_env(host),
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"meshctl failed in {host}: {done.stderr}")
        print("(a token, not shown)" if secret else done.stdout.rstrip(), flush=True)
        return str(done.stdout)

    def _meshctl_env(self, host: str) -> dict[str, str]:
        return {**os.environ, "MESHCTL_CONFIG": str(self.data_dir(host) / "meshctl.yaml")}

    def xds_socket(self, zone: str) -> Path:
        """Where the zone's proxies reach its control plane: lab hosts share the file system."""
        return self.work / f"{zone}-xds.sock"

    def start(self, key: str, host: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """A process in `host`, its output in <work>/<key>.log."""
        log = (self.work / f"{key}.log").open("ab")
        self.processes[key] = self.lab.host(host).popen(argv, stdout=log, stderr=subprocess.STDOUT)
        return self.processes[key]

    def proxy(self, key: str, host: str, zone: str, token: str, *args: str) -> Path:
        """meshfabric-dp in `host`, served by its zone's control plane; its Envoy's admin socket."""
        directory = self.work / key
        directory.mkdir()
        (directory / "token").write_text(token)
        admin = directory / "admin.sock"
        command = [
            "meshfabric-dp", "run", "--cp-address", f"unix://{self.xds_socket(zone)}",
            "--dataplane-token-file", str(directory / "token"), "--admin-socket", str(admin),
            "--work-dir", str(directory), "--cp-wait-seconds", "30", *args,
        ]  # fmt: skip
        print(f"\033[2m[{host}] $ {shlex.join(command)}\033[0m", flush=True)
        self.start(key, host, command)
        return admin

    def data_dir(self, host: str) -> Path:
        return self.work / host.replace("/", "-")

    def start_control_plane(
        self, host: str, args: Sequence[str], env: dict[str, str] | None = None
    ) -> None:
        data = self.data_dir(host)
        data.mkdir(parents=True, exist_ok=True)
        log = (data / "cp.log").open("ab")
        command = ["meshfabric-cp", "run", "--data-dir", str(data / "cp"), *args]
        print(f"\033[2m[{host}] $ {shlex.join(command)}\033[0m", flush=True)
        env = {**os.environ, "MESHFABRIC_LOG__FORMAT": "text", **(env or {})}
        self.control_planes[host] = self.lab.host(host).popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env
        )
        self.wait(host, partial(self._answers, self.lab.host(host)), "its API to answer")
        self.meshctl(
            host,
            "config", "control-planes", "add", "--name", host.split("/")[0],
            "--address", "http://127.0.0.1:5681",
            "--auth-token-file", str(data / "cp" / "admin-token"),
        )  # fmt: skip

    def _answers(self, host: LabHost) -> bool:
        probe = ["curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:5681/"]
        return host.run(probe, check=False).returncode == 0

    def wait(self, host: str, ready: Callable[[], bool], what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not ready():
            process = self.control_planes.get(host)
            if process is not None and process.poll() is not None:
                log = (self.data_dir(host) / "cp.log").read_text()
                raise SystemExit(f"the control plane in {host} exited:\n{log}")
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up waiting for {what} in {host}")
            time.sleep(0.2)

    def in_state(self, zone: str, state: str) -> bool:
        return self.zone_state(zone) == state

    def zone_state(self, zone: str) -> str:
        """`online` or `offline`, as global's zone overview says."""
        done = self.lab.host(GLOBAL).run(
            ["meshctl", "inspect", "zones", "-o", "json"],
            env=self._meshctl_env(GLOBAL),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return "unknown"
        for overview in json.loads(done.stdout):
            if overview["name"] == zone:
                subscriptions = overview["zoneInsight"].get("subscriptions") or []
                last = subscriptions[-1] if subscriptions else {"disconnectTime": "never"}
                return "offline" if last.get("disconnectTime") else "online"
        return "unknown"

    def _admin_token(self, host: str) -> str:
        return (self.data_dir(host) / "cp" / "admin-token").read_text().strip()

    def holds(self, host: str, plural: str, name: str) -> bool:
        return name in self.names_at(host, plural)

    def has_synced(self, host: str) -> bool:
        """`host` holds flight-control from another zone, under its hashed name."""
        return any(n.startswith("flight-control-") for n in self.names_at(host, "meshservices"))

    def names_at(self, host: str, plural: str) -> set[str]:
        done = self.lab.host(host).run(
            ["curl", "-sf", "-H", f"Authorization: Bearer {self._admin_token(host)}",
             f"http://127.0.0.1:5681/meshes/default/{plural}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            return set()
        return {item["name"] for item in json.loads(done.stdout)["items"]}


def run(demo: Demo) -> None:
    step("The lab: three zones of network namespaces behind firewalled routers")
    subprocess.run(["meshfabric-lab", "status", "--state-dir", str(demo.lab.state_dir)], check=True)
    demo.start_sinks()

    step("The global control plane (REST and KDS on its own host)")
    demo.start_control_plane(
        GLOBAL, ["--mode", "global"], {"MESHFABRIC_KDS__ADDRESS": GLOBAL_ADDRESS}
    )

    step("A zone token per zone, signed by global and bound to the zone's name")
    for zone in ZONES:
        token = demo.meshctl(
            GLOBAL, "generate", "zone-token", "--zone", zone, "--valid-for", "24h", secret=True
        )
        (demo.work / f"{zone}.token").write_text(token.strip() + "\n")

    step("The zone control planes dial global's KDS port through their firewalls")
    for zone in ZONES:
        demo.start_control_plane(
            f"{zone}/control-plane",
            [
                "--mode", "zone", "--zone", zone,
                "--global-address", f"grpcs://{GLOBAL_ADDRESS}:5685",
                "--zone-token-file", str(demo.work / f"{zone}.token"),
                "--global-ca-file", str(demo.data_dir(GLOBAL) / "cp" / "kds-ca.crt"),
                "--xds-unix-socket", str(demo.xds_socket(zone)),
            ],
        )  # fmt: skip
    for zone in ZONES:
        demo.wait(GLOBAL, partial(demo.in_state, zone, "online"), f"{zone} online")
    demo.meshctl(GLOBAL, "get", "zones")

    step("Kong Air's mesh and policies, applied once at global")
    for document in ("00-mesh.yaml", "20-policies.yaml"):
        demo.meshctl(GLOBAL, "apply", "-f", str(REPO / "examples" / "kong-air" / document))
    for zone in ZONES:
        host = f"{zone}/control-plane"
        demo.wait(host, partial(demo.holds, host, "meshretries", "flight-control"), "policies")
        demo.meshctl(host, "get", "meshtrafficpermissions", "--mesh", "default")

    step("A MeshService made in us-east-1 reaches global and eu-west-1 under Kuma's hashed name")
    demo.meshctl("us-east-1/control-plane", "apply", "-f", "-", stdin=FLIGHT_CONTROL_SERVICE)
    demo.wait(GLOBAL, lambda: demo.has_synced("eu-west-1/control-plane"), "the MeshService")
    demo.meshctl(GLOBAL, "get", "meshservices", "--mesh", "default", "-o", "yaml")
    demo.meshctl("eu-west-1/control-plane", "get", "meshservices", "--mesh", "default")

    step("A second control plane in eu-west-1 presenting us-east-1's zone token is refused")
    _impostor(demo)

    failover(demo)
    where_to_look(demo)
    the_trace(demo)
    the_access_log(demo)

    step("us-east-1's control plane freezes (SIGSTOP): global shows it offline within seconds")
    frozen = demo.control_planes["us-east-1/control-plane"]
    frozen.send_signal(signal.SIGSTOP)
    started = time.monotonic()
    demo.wait(GLOBAL, partial(demo.in_state, "us-east-1", "offline"), "offline", 30)
    print(f"us-east-1 offline at global after {time.monotonic() - started:.1f} s")
    frozen.send_signal(signal.SIGCONT)
    started = time.monotonic()
    demo.wait(GLOBAL, partial(demo.in_state, "us-east-1", "online"), "online", 30)
    print(f"us-east-1 online again {time.monotonic() - started:.1f} s after SIGCONT")
    demo.meshctl(GLOBAL, "get", "zones")


FLIGHT_CONTROL_SERVICE = """\
type: MeshService
name: flight-control
mesh: default
labels:
  app: flight-control
spec:
  selector:
    dataplaneTags:
      kuma.io/service: flight-control
  ports:
    - name: http
      port: 8080
      targetPort: 20001
      appProtocol: http
"""
FLIGHT_CONTROL_EVERYWHERE = """\
type: MeshMultiZoneService
name: flight-control
mesh: default
spec:
  selector:
    meshService:
      matchLabels:
        app: flight-control
  ports:
    - name: http
      port: 8080
      appProtocol: http
"""


def failover(demo: Demo) -> None:
    step("Ingresses in both zones; flight-control in both; booking in us-east-1")
    demo.meshctl("eu-west-1/control-plane", "apply", "-f", "-", stdin=FLIGHT_CONTROL_SERVICE)
    demo.meshctl(GLOBAL, "apply", "-f", "-", stdin=FLIGHT_CONTROL_EVERYWHERE)
    print("and, made at global, where every sidecar sends its spans and access-log lines:")
    demo.meshctl(GLOBAL, "apply", "-f", "-", stdin=TELEMETRY)
    admins = {}
    for zone, lan in LANS.items():
        token = demo.meshctl(
            f"{zone}/control-plane", "generate", "dataplane-token", "--mesh", "default",
            "--proxy-type", "ingress", "--name", "ingress", secret=True,
        )  # fmt: skip
        admins[f"ingress-{zone}"] = demo.proxy(
            f"ingress-{zone}", f"{zone}/ingress", zone, token,
            "--proxy-type", "ingress", "--name", "ingress", "--mesh", "default",
            "--address", f"{lan}.11", "--ingress-port", "10001",
            "--advertised-address", f"{lan}.11",
        )  # fmt: skip
        admins[f"flight-control-{zone}"] = start_flight_control(demo, zone, "")
    admins["booking"] = demo.proxy(
        "booking", "us-east-1/client-1", "us-east-1", service_token(demo, "us-east-1", "booking"),
        "--mesh", "default", "--name", "booking-1", "--address", f"{LANS['us-east-1']}.14",
        "--inbound", "20001:8081:booking:http",
        "--vips", "--dns-address", "127.0.0.1:15053", "--redirect-dns",
    )  # fmt: skip
    for name, socket in admins.items():
        demo.wait(name, partial(is_live, socket), f"the Envoy of {name}")
    demo.wait("booking", partial(knows_both_zones, admins["booking"]), "both zones' endpoints")
    for name in ("booking", "flight-control-eu-west-1"):  # before any connection is opened
        demo.wait(name, partial(observes, admins[name]), "the MeshTrace and MeshAccessLog")

    step(f"booking calls http://{MULTIZONE_NAME}:8080/flights steadily: who answers?")
    resolved = demo.lab.host("us-east-1/client-1").run(
        ["getent", "hosts", MULTIZONE_NAME], capture_output=True, text=True, check=False
    )
    print(f"in booking's host, {MULTIZONE_NAME} resolves to {resolved.stdout.split()[:1]} "
          "(answered by booking's sidecar)", flush=True)  # fmt: skip
    calls, stop = demo.work / "calls.jsonl", demo.work / "stop-calls"
    url = f"http://{MULTIZONE_NAME}:8080/flights"
    demo.start(
        "load", "us-east-1/client-1", ["python3", "-c", call_loop.LOAD, url, str(calls), str(stop)]
    )
    demo.wait(
        "booking", lambda: call_loop.answered_by(calls).count("us-east-1") >= 100, "local answers"
    )
    report(calls, "while us-east-1 serves")

    step("Every flight-control instance in us-east-1 dies")
    before = len(call_loop.calls(calls))
    demo.processes["app-us-east-1"].kill()
    demo.processes["flight-control-us-east-1"].terminate()
    demo.processes["flight-control-us-east-1"].wait(10)
    demo.wait(
        "booking",
        lambda: call_loop.answered_by(calls)[before:].count("eu-west-1") >= 200,
        "answers from eu-west-1",
    )
    report(calls, "after the failover")
    last = call_loop.calls(calls)[-1]
    print(f"the last answer came from {last.get('service')}, called by {last.get('caller')}")
    one_request(demo)

    step("flight-control returns in us-east-1: traffic goes local again")
    start_flight_control(demo, "us-east-1", "-back")
    demo.wait(
        "booking", lambda: call_loop.answered_by(calls)[-100:] == ["us-east-1"] * 100, "local again"
    )
    stop.touch()
    demo.processes["load"].wait(10)
    report(calls, "after the failback")
    failed = [call for call in call_loop.calls(calls) if "error" in call]
    print(f"\033[1mfailed requests across failover and failback: {len(failed)} of "
          f"{len(call_loop.calls(calls))}\033[0m", flush=True)  # fmt: skip
    if failed:
        raise SystemExit(f"failed requests: {failed[:3]}")


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
    token = demo.work / "prometheus.token"
    token.write_text(
        demo.meshctl(GLOBAL, "generate", "user-token", "--name", "prometheus", secret=True)
    )
    demo.meshctl(GLOBAL, "apply", "-f", "-", stdin=PROMETHEUS_METRICS)
    dashboards = demo.work / "dashboards"
    write_dashboards(dashboards)
    config = demo.work / "prometheus.json"  # JSON is YAML
    config.write_text(json.dumps(prometheus_config(token)))
    demo.start(
        "prometheus", GLOBAL,
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={demo.work / 'tsdb'}",
         f"--web.listen-address={PROMETHEUS}", f"--web.console.templates={dashboards}/consoles"],
    )  # fmt: skip
    [mesh] = [board for board in DASHBOARDS if board.uid == "meshfabric-mesh"]
    panels = {panel.title: resolved(panel.expr, {"mesh": "default"}, "1m") for panel in mesh.panels}
    online, requests = panels["Proxies online"], panels["Inbound requests per second"]
    demo.wait(GLOBAL, lambda: len(promql(demo, requests)) == 2, "both zones scraped", 60)
    for expression in (online, requests):
        print(f"\033[2m[{GLOBAL}] PromQL: {expression}\033[0m", flush=True)
        for sample in promql(demo, expression):
            print(f"  zone={sample['metric']['zone']}: {float(sample['value'][1]):.3g}")
    print(f"the same on one page: http://{PROMETHEUS}/consoles/meshfabric.html in {GLOBAL};")
    print(f"Grafana's dashboards: {dashboards}/grafana/ (meshctl generate dashboards)")


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


def observes(socket: Path) -> bool:
    """The proxy's listeners trace (OpenTelemetry) and log (to meshfabric-dp's fifo)."""
    listeners = admin_get(socket, "/config_dump?resource=dynamic_listeners")
    return "envoy.tracers.opentelemetry" in listeners and "access-log.fifo" in listeners


def one_request(demo: Demo) -> None:
    """While flight-control answers from eu-west-1 alone: one request from booking, marked
    by its x-booking header, whose trace and log lines the demo shows at its end."""
    assert demo.traces is not None
    demo.traces.wait_ready()  # started at the beginning: spans sent before it is up are lost
    url = f"http://{MULTIZONE_NAME}:8080{TRACED_PATH}"
    command = ["curl", "-sf", "-H", f"x-booking: {BOOKING}", url]
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
    assert demo.logs is not None
    logs = demo.logs

    def marked() -> list[str]:
        return [line for line in logs.lines() if f" path={TRACED_PATH} " in line]

    def from_both_zones() -> bool:
        return all(any(f"zone={zone} " in line for line in marked()) for zone in ZONES)

    demo.wait(GLOBAL, from_both_zones, "both zones' lines at rsyslog", 30)
    for line in marked():
        print(f"  {line}")
    print(f"every zone's lines: {logs.received} (rsyslog in {GLOBAL}, TCP {logs.address})")


def prometheus_config(token: Path) -> dict[str, Any]:
    """docs/telemetry.md's configuration: every zone's proxies from global's discovery endpoint."""
    discovery = {
        "url": "http://127.0.0.1:5681/meshes/_all/monitoring-assignments",
        "refresh_interval": "1s",
        "authorization": {"type": "Bearer", "credentials_file": str(token)},
    }
    return {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{"job_name": "meshfabric-proxies", "http_sd_configs": [discovery]}],
    }


def promql(demo: Demo, expression: str) -> list[dict[str, Any]]:
    """An instant query, asked from inside global's host; nothing until Prometheus is up."""
    command = ["curl", "-sf", "-G", f"http://{PROMETHEUS}/api/v1/query",
               "--data-urlencode", f"query={expression}"]  # fmt: skip
    done = demo.lab.host(GLOBAL).run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return []
    result: list[dict[str, Any]] = json.loads(done.stdout)["data"]["result"]
    return result


def start_flight_control(demo: Demo, zone: str, suffix: str) -> Path:
    """flight-control and its sidecar in the zone's flight-control-1 host."""
    host = f"{zone}/flight-control-1"
    demo.start(f"app-{zone}", host, ["python3", str(ECHO_APP), "8080", zone])
    return demo.proxy(
        f"flight-control-{zone}{suffix}", host, zone, service_token(demo, zone, "flight-control"),
        "--mesh", "default", "--name", "flight-control-1", "--address", f"{LANS[zone]}.13",
        "--inbound", "20001:8080:flight-control:http",
    )  # fmt: skip


def service_token(demo: Demo, zone: str, service: str) -> str:
    return demo.meshctl(
        f"{zone}/control-plane", "generate", "dataplane-token", "--mesh", "default",
        "--tag", f"kuma.io/service={service}", secret=True,
    )  # fmt: skip


def knows_both_zones(socket: Path) -> bool:
    """booking's Envoy holds flight-control's local instance (priority 0) and eu-west-1's
    ingress (priority 1) under the MeshMultiZoneService."""
    return endpoint_priorities(socket, MULTIZONE_CLUSTER) == {0, 1}


def report(path: Path, when: str) -> None:
    calls = call_loop.calls(path)
    by_zone = Counter(str(call.get("service", "failed")) for call in calls)
    counts = ", ".join(f"{zone}: {count}" for zone, count in sorted(by_zone.items()))
    print(f"{when}: {len(calls)} calls so far ({counts})", flush=True)


def _impostor(demo: Demo) -> None:
    """A zone control plane named eu-west-1 dialling global with us-east-1's token."""
    data = demo.work / "impostor"
    data.mkdir()
    log_path = data / "cp.log"
    command = [
        "meshfabric-cp", "run", "--mode", "zone", "--zone", "eu-west-1",
        "--data-dir", str(data / "cp"), "--api-port", "0", "--api-https-port", "0",
        "--xds-port", "0", "--diagnostics-port", "0",
        "--global-address", f"grpcs://{GLOBAL_ADDRESS}:5685",
        "--zone-token-file", str(demo.work / "us-east-1.token"),
        "--global-ca-file", str(demo.data_dir(GLOBAL) / "cp" / "kds-ca.crt"),
    ]  # fmt: skip
    print(f"\033[2m[eu-west-1/control-plane] $ {shlex.join(command)}\033[0m", flush=True)
    env = {**os.environ, "MESHFABRIC_LOG__FORMAT": "text"}
    with log_path.open("wb") as log:
        process = demo.lab.host("eu-west-1/control-plane").popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 30
        while "refused" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait()
    refusals = [line for line in log_path.read_text().splitlines() if "refused" in line]
    print(refusals[0] if refusals else "(no refusal seen in 30 s)", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="meshfabric-multizone-") as directory:
        work = Path(directory)
        lab = Lab.up(KONG_AIR, state_dir=work / "lab")
        demo = Demo(lab, work)
        try:
            run(demo)
        finally:
            for process in demo.control_planes.values():
                process.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            (work / "stop-calls").touch()
            lab.down()
            print("\nlab torn down: no namespace, process or rule left", flush=True)


if __name__ == "__main__":
    main()
