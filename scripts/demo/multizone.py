"""Kong Air in three zones of the local lab, deployed as onto real machines: the collection's
site.yml over SSH brings up a global control plane and two zone control planes joined over
KDS with zone tokens, Kong Air's mesh and policies made at global, both zones' ingresses and
egresses, flight-control's sidecar in both zones and booking's in us-east-1, Prometheus and
rsyslog in global's host. Then the policies listed by both zones, a MeshService made in
us-east-1 reaching global and eu-west-1 under Kuma's names, a stolen zone token refused;
booking in us-east-1 calling flight-control by its one name,
`flight-control.mzsvc.mesh.local` (a MeshMultiZoneService made at global, resolved by
booking's own sidecar), under steady load: answered locally, failing over to eu-west-1
through its ingress when the local instance dies and back when it returns, with the
failed-request count; then where to look: the one Prometheus at global answering for both
zones (the dashboards' queries, the console page), the trace of one request that crossed
from us-east-1 to eu-west-1 during the failover (one trace in Arize Phoenix, a span from
each zone) and its access-log lines from both zones at the one rsyslog, fed by a MeshTrace
and a MeshAccessLog made at global; last, a zone whose control plane freezes shown offline.

Every control plane and proxy runs in its own lab host (network namespace) behind the lab's
zone firewalls, under the supervisord its role set up there; meshctl runs in the host of the
control plane it talks to. `meshfabric-lab down` at the end removes every host and ends
every process started in them.
"""

from __future__ import annotations

import os
import shlex
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
    inventory_name,
    step,
)
from failover import FLIGHT_CONTROL_SERVICE, failover, start_app
from where_to_look import the_access_log, the_trace, where_to_look

from meshfabric.kds.mux import PING_INTERVAL_S, SILENCE_S
from meshfabric.lab import KONG_AIR, Lab
from meshfabric.lab.playbooks import copy_collection, deploy_from


def run(demo: Demo) -> None:
    step("The lab: three zones of network namespaces behind firewalled routers, sshd in each host")
    subprocess.run(["meshfabric-lab", "status", "--state-dir", str(demo.lab.state_dir)], check=True)
    demo.start_traces()

    step("Kong Air's apps already run on their hosts: flight-control in both zones")
    for zone in ZONES:
        start_app(demo, zone)

    step("Deploy the whole mesh with ansible-playbook, over SSH, as onto real machines")
    print(
        "global; every zone's control plane, joining global with a zone token issued for it; "
        "Kong Air's mesh; the zones' ingresses and egresses; flight-control's sidecar in both "
        "zones, booking's in us-east-1; Prometheus and rsyslog at global; Kong Air's policies"
    )
    demo.write_host_vars()
    demo.site()

    step("global sees both zones online, synced over KDS (gRPC, mTLS, each with its zone token)")
    for host in (GLOBAL, *(f"{zone}/control-plane" for zone in ZONES)):
        demo.point_meshctl(host)
    for zone in ZONES:
        demo.wait(GLOBAL, partial(demo.in_state, zone, "online"), f"{zone} online")
    demo.meshctl(GLOBAL, "get", "zones")

    step("Kong Air's policies, applied once at global by site.yml, listed by each zone")
    for zone in ZONES:
        host = f"{zone}/control-plane"
        demo.wait(host, partial(demo.holds, host, "meshretries", "flight-control"), "policies")
        demo.meshctl(host, "get", "meshtrafficpermissions", "--mesh", "default")

    step(
        "flight-control's MeshService in us-east-1 reaches global and eu-west-1 under Kuma's "
        "hashed name"
    )
    print(
        "each zone made one per service of its sidecars' inbounds (the mesh's MeshServices are "
        "Exclusive); here it gets the label and port the MeshMultiZoneService will select"
    )
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
    demo.freeze("us-east-1/control-plane")
    started = time.monotonic()
    demo.wait(GLOBAL, partial(demo.in_state, "us-east-1", "offline"), "offline", 30)
    waited = time.monotonic() - started
    print(
        f"us-east-1 offline at global after {waited:.1f} s (a zone that answers nothing for"
        f" {SILENCE_S:.0f} s is taken for dead; global pings every {PING_INTERVAL_S:.0f} s)"
    )
    demo.thaw()
    started = time.monotonic()
    demo.wait(GLOBAL, partial(demo.in_state, "us-east-1", "online"), "online", 30)
    print(f"us-east-1 online again {time.monotonic() - started:.1f} s after SIGCONT")
    demo.meshctl(GLOBAL, "get", "zones")


def _impostor(demo: Demo) -> None:
    """A zone control plane named eu-west-1 dialling global with us-east-1's token (the one
    site.yml left on us-east-1's control-plane host)."""
    data = demo.work / "impostor"
    data.mkdir()
    log_path = data / "cp.log"
    us_east = demo.deployment.host_root(inventory_name("us-east-1/control-plane"))
    global_ca = demo.deployment.credential(inventory_name(GLOBAL), "kds-ca.crt")
    command = [
        "meshfabric-cp", "run", "--mode", "zone", "--zone", "eu-west-1",
        "--data-dir", str(data / "cp"), "--api-port", "0", "--api-https-port", "0",
        "--xds-port", "0", "--diagnostics-port", "0",
        "--global-address", f"grpcs://{GLOBAL_ADDRESS}:5685",
        "--zone-token-file", str(us_east / "etc" / "control-plane" / "zone-token"),
        "--global-ca-file", str(global_ca),
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
    # A short path: supervisord's socket in each host's etc/ must fit a Unix socket's name.
    with tempfile.TemporaryDirectory(prefix="mfdemo-", dir="/tmp") as directory:
        work = Path(directory)
        lab = Lab.up(KONG_AIR, state_dir=work / "lab")
        demo: Demo | None = None
        try:
            collections = copy_collection(REPO, work / "collections")
            demo = Demo(deploy_from(REPO, lab, collections, work))
            run(demo)
        finally:
            if demo is not None:
                demo.thaw()
                (demo.work / "stop-calls").touch()
            lab.down()
            print("\nlab torn down: no namespace, process or rule left", flush=True)


if __name__ == "__main__":
    main()
