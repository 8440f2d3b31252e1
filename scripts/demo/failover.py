"""The demo's failover: booking in us-east-1 calling flight-control (in both zones, behind the
sidecars site.yml deployed) by its MeshMultiZoneService name under steady load, answered
locally, from eu-west-1 when the local instance dies and locally again when it returns."""

from __future__ import annotations

from collections import Counter
from functools import partial
from pathlib import Path

from demo_lab import (
    ECHO_APP,
    GLOBAL,
    MULTIZONE_CLUSTER,
    MULTIZONE_NAME,
    ZONES,
    Demo,
    sidecar_program,
    step,
)
from where_to_look import TELEMETRY, observes, one_request

from meshfabric.lab import call_loop
from meshfabric.lab.envoy_admin import Admin, endpoint_priorities, is_live

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
    step("One name for flight-control in both zones: a MeshMultiZoneService made at global")
    demo.meshctl("eu-west-1/control-plane", "apply", "-f", "-", stdin=FLIGHT_CONTROL_SERVICE)
    demo.meshctl(GLOBAL, "apply", "-f", "-", stdin=FLIGHT_CONTROL_EVERYWHERE)
    print("and, made at global, where every sidecar sends its spans and access-log lines:")
    demo.meshctl(GLOBAL, "apply", "-f", "-", stdin=TELEMETRY)
    admins = {f"{proxy}-{zone}": demo.admin(f"{zone}/{proxy}")
              for zone in ZONES for proxy in ("ingress", "flight-control-1")}  # fmt: skip
    admins["booking"] = demo.admin("us-east-1/client-1")
    for name, admin in admins.items():
        demo.wait(name, partial(is_live, admin), f"the Envoy of {name}")
    demo.wait("booking", partial(knows_both_zones, admins["booking"]), "both zones' endpoints")
    for name in ("booking", "flight-control-1-eu-west-1"):  # before any connection is opened
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
    demo.supervisorctl("us-east-1/flight-control-1", "stop", sidecar_program("flight-control-1"))
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
    start_app(demo, "us-east-1")
    demo.supervisorctl("us-east-1/flight-control-1", "start", sidecar_program("flight-control-1"))
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


def start_app(demo: Demo, zone: str) -> None:
    """flight-control's app in the zone's flight-control-1 host, behind its sidecar."""
    demo.start(f"app-{zone}", f"{zone}/flight-control-1", ["python3", str(ECHO_APP), "8080", zone])


def knows_both_zones(admin: Admin) -> bool:
    """booking's Envoy holds flight-control's local instance (priority 0) and eu-west-1's
    ingress (priority 1) under the MeshMultiZoneService."""
    return endpoint_priorities(admin, MULTIZONE_CLUSTER) == {0, 1}


def report(path: Path, when: str) -> None:
    calls = call_loop.calls(path)
    by_zone = Counter(str(call.get("service", "failed")) for call in calls)
    counts = ", ".join(f"{zone}: {count}" for zone, count in sorted(by_zone.items()))
    print(f"{when}: {len(calls)} calls so far ({counts})", flush=True)
