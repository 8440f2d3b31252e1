"""One request from us-east-1 to eu-west-1, logged in a real rsyslog from both zones: a
MeshAccessLog made at global with a Tcp backend reaches both zones, the client's sidecar
logs the call it sends out and the server's sidecar the call it takes in, each line saying
its zone, and both lines arrive at the one sink through each proxy's meshfabric-dp."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshfabric.lab.log_sink import LogSink
from tests.integration.dataplane.support import Sidecar, permission, sidecar_dataplane, status_of
from tests.integration.kds.conftest import Federation
from tests.integration.multizone.test_cross_zone import (
    MESH,
    SERVICE,
    Ingress,
    ZoneApp,
    flight_control_service,
    start_ingress,
    start_sidecar,
    start_zone,
)
from tests.support.net import free_port, wait_until
from tests.support.rsyslog import rsyslog

pytestmark = [pytest.mark.envoy, pytest.mark.slow]

LINE = (
    "zone=%KUMA_ZONE% direction=%KUMA_TRAFFIC_DIRECTION% "
    "%KUMA_SOURCE_SERVICE%->%KUMA_DESTINATION_SERVICE% path=%REQ(:PATH)% status=%RESPONSE_CODE%"
)


def access_log(address: str) -> dict[str, Any]:
    tcp = {"address": address, "format": {"type": "Plain", "plain": LINE}}
    default = {"backends": [{"type": "Tcp", "tcp": tcp}]}
    return {
        "type": "MeshAccessLog",
        "mesh": MESH,
        "name": "central",
        "spec": {
            "targetRef": {"kind": "Mesh"},
            "to": [{"targetRef": {"kind": "Mesh"}, "default": default}],
            "from": [{"targetRef": {"kind": "Mesh"}, "default": default}],
        },
    }


def logs_to_the_fifo(sidecar: Sidecar) -> bool:
    return "access-log.fifo" in sidecar.admin("/config_dump?resource=dynamic_listeners")


@pytest.fixture
def work() -> Iterator[Path]:
    """A short directory: Envoy's admin socket path must fit in a Unix socket address."""
    with tempfile.TemporaryDirectory(prefix="mfal-", dir="/tmp") as directory:
        yield Path(directory)


@pytest.fixture
def sink(work: Path) -> Iterator[LogSink]:
    with rsyslog(work / "rsyslog") as running:
        yield running


def test_a_cross_zone_requests_lines_reach_rsyslog_from_both_zones(
    federation: Federation, work: Path, sink: LogSink
) -> None:
    with federation.global_cp.client() as client:
        for document in (
            permission(MESH, "web-to-flight-control", SERVICE, "web"),
            access_log(sink.address),
        ):
            path = f"/meshes/{MESH}/{document['type'].lower()}s/{document['name']}"
            client.put(path, json=document).raise_for_status()
    us, eu = start_zone(federation, "us-east-1"), start_zone(federation, "eu-west-1")
    ingresses: list[Ingress] = []
    sidecars: list[Sidecar] = []
    app = ZoneApp("eu-west-1")  # flight-control runs in eu-west-1 alone
    try:
        for zone in (us, eu):
            start_ingress(zone, work, ingresses)
        with eu.cp.client() as client:
            client.put(
                f"/meshes/{MESH}/meshservices/{SERVICE}", json=flight_control_service()
            ).raise_for_status()
        server_dp = sidecar_dataplane(f"{SERVICE}-1", free_port(), app.port, SERVICE, "http")
        server = start_sidecar(eu, work, server_dp, sidecars)
        outbound = free_port()
        client_dp = sidecar_dataplane(
            "web-1", free_port(), free_port(), "web", "http", {outbound: SERVICE}
        )
        web = start_sidecar(us, work, client_dp, sidecars)
        for sidecar in (server, web):
            sidecar.wait_ready()
        url = f"http://127.0.0.1:{outbound}/"
        wait_until(lambda: status_of(url) == 200, 60, "a call from us-east-1 to eu-west-1")
        wait_until(
            lambda: all(logs_to_the_fifo(sidecar) for sidecar in (server, web)),
            30,
            "the policy made at global in both zones' proxies",
        )

        assert status_of(url + "booking-42") == 200
        sent = f"zone=us-east-1 direction=outbound web->{SERVICE} path=/booking-42 status=200"
        taken = f"zone=eu-west-1 direction=inbound *->{SERVICE} path=/booking-42 status=200"
        wait_until(
            lambda: {sent, taken} <= {line.strip() for line in sink.lines()},
            20,
            f"both zones' lines in rsyslog (received: {sink.received})",
        )
        assert [sidecar.rejected_updates() for sidecar in (server, web)] == [0, 0]
    finally:
        for sidecar in sidecars:
            sidecar.stop()
        for ingress in ingresses:
            ingress.process.terminate()
            ingress.process.wait(10)
        app.stop()
