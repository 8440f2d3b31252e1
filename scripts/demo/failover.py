"""The demo's failover: ingresses, flight-control in both zones and booking in us-east-1
calling it by its MeshMultiZoneService name under steady load, answered locally, from
eu-west-1 when the local instance dies and locally again when it returns."""

from __future__ import annotations

from collections import Counter
from functools import partial
from pathlib import Path

from demo_lab import (
    ECHO_APP,
    GLOBAL,
    LANS,
    MULTIZONE_CLUSTER,
    MULTIZONE_NAME,
    Demo,
    step,
)
from where_to_look import TELEMETRY, observes, one_request

from meshfabric.lab import call_loop
from meshfabric.lab.envoy_admin import endpoint_priorities, is_live

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
