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

import os
import shlex
import signal
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

from demo_lab import (
    GLOBAL,
    GLOBAL_ADDRESS,
    REPO,
    ZONES,
    Demo,
    step,
)
from failover import FLIGHT_CONTROL_SERVICE, failover
from where_to_look import the_access_log, the_trace, where_to_look

from meshfabric.kds.mux import PING_INTERVAL_S, SILENCE_S
from meshfabric.lab import KONG_AIR, Lab


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
    waited = time.monotonic() - started
    print(
        f"us-east-1 offline at global after {waited:.1f} s (a zone that answers nothing for"
        f" {SILENCE_S:.0f} s is taken for dead; global pings every {PING_INTERVAL_S:.0f} s)"
    )
    frozen.send_signal(signal.SIGCONT)
    started = time.monotonic()
    demo.wait(GLOBAL, partial(demo.in_state, "us-east-1", "online"), "online", 30)
    print(f"us-east-1 online again {time.monotonic() - started:.1f} s after SIGCONT")
    demo.meshctl(GLOBAL, "get", "zones")


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
