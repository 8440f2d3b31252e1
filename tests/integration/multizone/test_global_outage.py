"""Global killed (SIGKILL) for 30 s while traffic runs inside both zones, real Envoys on
loopback: no request fails, and afterwards the zones converge on what global decided, a
delete made just before the kill, a change and a delete made right after the restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.integration.dataplane.support import Sidecar, permission, sidecar_dataplane
from tests.integration.kds.conftest import Federation
from tests.integration.kds.test_autonomy import restart_global
from tests.integration.kds.test_sync import delete, get, put, timeout_policy, wait_for, wait_gone
from tests.integration.multizone.test_cross_zone import (
    MESH,
    SERVICE,
    Load,
    Zone,
    ZoneApp,
    start_sidecar,
    start_zone,
)
from tests.integration.multizone.test_cross_zone import work as work  # the fixture
from tests.support.net import free_port, wait_until

pytestmark = [pytest.mark.envoy, pytest.mark.slow]

OUTAGE_SECONDS = 30  # how long the issue keeps global away
POLICIES = f"/meshes/{MESH}/meshtimeouts"


def serve_and_call(zone: Zone, work: Path, app: ZoneApp, sidecars: list[Sidecar]) -> Sidecar:
    """flight-control and a client of it in the zone; the client's sidecar."""
    server = sidecar_dataplane(f"{SERVICE}-{zone.name}", free_port(), app.port, SERVICE, "http")
    start_sidecar(zone, work, server, sidecars)
    outbound = free_port()
    client = sidecar_dataplane(
        f"web-{zone.name}", free_port(), free_port(), "web", "http", {outbound: SERVICE}
    )
    return start_sidecar(zone, work, client, sidecars)


def outbound_url(client: Sidecar) -> str:
    return f"http://127.0.0.1:{client.dataplane['networking']['outbound'][0]['port']}/"


def connect_timeout_of(client: Sidecar) -> str:
    """The connect timeout of the client's flight-control cluster, as Envoy holds it."""
    dump = client.admin("/config_dump?resource=dynamic_active_clusters")
    marker = f'"name": "{SERVICE}"'
    cluster = dump[dump.index(marker) :] if marker in dump else ""
    timeout = cluster.partition('"connect_timeout": "')[2]
    return timeout.partition('"')[0]


def test_traffic_in_both_zones_survives_a_killed_global_and_the_zones_converge_after(
    federation: Federation, work: Path
) -> None:
    put(federation.global_cp, f"/meshes/{MESH}/meshtrafficpermissions/web-to-fc",
        permission(MESH, "web-to-fc", SERVICE, "web"))  # fmt: skip
    for name in ("changed", "deleted-before", "deleted-after"):
        put(federation.global_cp, f"{POLICIES}/{name}", timeout_policy(name, "5s"))
    zones = [start_zone(federation, "zone-a"), start_zone(federation, "zone-b")]
    apps = [ZoneApp(zone.name) for zone in zones]
    sidecars: list[Sidecar] = []
    loads: list[Load] = []
    try:
        clients = [
            serve_and_call(z, work, app, sidecars) for z, app in zip(zones, apps, strict=True)
        ]
        for sidecar in sidecars:
            sidecar.wait_ready()
        for zone in zones:
            for name in ("changed", "deleted-before", "deleted-after"):
                wait_for(zone.cp, f"{POLICIES}/{name}", f"{name} in {zone.name}")
        loads = [Load(outbound_url(client)) for client in clients]
        threads = [threading.Thread(target=load.run, daemon=True) for load in loads]
        for thread in threads:
            thread.start()
        for load in loads:
            wait_until(lambda load=load: len(load.answers) >= 50, 30, "steady traffic")

        delete(federation.global_cp, f"{POLICIES}/deleted-before")
        federation.global_cp.kill()
        answered_at_kill = [len(load.answers) for load in loads]
        time.sleep(OUTAGE_SECONDS)
        answered_in_outage = [
            len(load.answers) - n for load, n in zip(loads, answered_at_kill, strict=True)
        ]

        restart_global(federation)
        put(federation.global_cp, f"{POLICIES}/changed", timeout_policy("changed", "7s"))
        delete(federation.global_cp, f"{POLICIES}/deleted-after")
        for zone, client in zip(zones, clients, strict=True):
            wait_gone(zone.cp, f"{POLICIES}/deleted-before", f"the early delete in {zone.name}")
            wait_gone(zone.cp, f"{POLICIES}/deleted-after", f"the late delete in {zone.name}")
            wait_until(
                lambda client=client: connect_timeout_of(client) == "7s",
                30,
                f"the changed policy in {zone.name}'s Envoy",
            )
            changed = get(zone.cp, f"{POLICIES}/changed").json()
            assert changed["spec"]["to"][0]["default"]["connectionTimeout"] == "7s"
        for load in loads:
            load.stop()
        for thread in threads:
            thread.join(10)

        assert all(count > 0 for count in answered_in_outage), answered_in_outage
        assert [load.failures for load in loads] == [[], []]
        assert [set(load.zones()) for load in loads] == [{"zone-a"}, {"zone-b"}]
        print(f"answered while global was down: {answered_in_outage}, failed: 0")
    finally:
        for load in loads:
            load.stop()
        for sidecar in sidecars:
            sidecar.stop()
        for app in apps:
            app.stop()
