"""Streams that stop flowing without closing: a stopped zone, a stopped global."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from tests.integration.kds.conftest import Federation
from tests.integration.kds.test_sync import TIMEOUT, get, put, timeout_policy, wait_for
from tests.integration.kds.test_zone_auth import insight_closed, logged
from tests.support.control_plane import ControlPlane
from tests.support.net import wait_until


@contextmanager
def stopped(cp: ControlPlane) -> Iterator[None]:
    """SIGSTOP: the process holds its connections open but answers nothing, until SIGCONT."""
    assert cp.process is not None
    cp.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        cp.process.send_signal(signal.SIGCONT)


def online(federation: Federation, zone: str) -> bool:
    overview = get(federation.global_cp, "/zones/_overview").json()
    return any(item["name"] == zone for item in overview["items"]) and not insight_closed(
        federation, zone
    )


def test_a_stopped_zone_is_shown_offline_and_converges_after_it_resumes(
    federation: Federation,
) -> None:
    zone_a = federation.start_zone("zone-a")
    wait_until(lambda: online(federation, "zone-a"), TIMEOUT, "zone A online")
    with stopped(zone_a):
        wait_until(lambda: insight_closed(federation, "zone-a"), TIMEOUT, "zone A offline")
        put(federation.global_cp, "/meshes/default/meshtimeouts/late", timeout_policy("late"))
    wait_for(zone_a, "/meshes/default/meshtimeouts/late", "the change made while stopped")
    wait_until(lambda: online(federation, "zone-a"), TIMEOUT, "zone A online again")


def test_a_zone_notices_a_stopped_global_and_converges_after_it_resumes(
    federation: Federation,
) -> None:
    zone_a = federation.start_zone("zone-a")
    wait_for(zone_a, "/meshes/default", "the mesh in zone A")
    with stopped(federation.global_cp):
        wait_until(lambda: logged(zone_a, "lost global"), TIMEOUT, "zone A noticing")
        assert get(zone_a, "/meshes/default").status_code == 200, "the zone serves on"
    put(federation.global_cp, "/meshes/default/meshtimeouts/after", timeout_policy("after"))
    wait_for(zone_a, "/meshes/default/meshtimeouts/after", "a change after global resumed")
