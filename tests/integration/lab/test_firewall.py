"""The routers' firewalls: what leaves a zone is KDS to global, connections to other zones'
ingresses, and the telemetry of the monitoring host (global's control-plane host): its
scrapes of the app hosts and, from the app hosts to it, spans (OTLP) and access-log lines
(syslog). Each case starts a real listener at the target, so a blocked case fails only
because the firewall dropped the connection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meshfabric.lab import KONG_AIR, Lab
from meshfabric.lab.firewall import INGRESS_PORT, KDS_PORT, OTLP_PORT, SYSLOG_PORT
from tests.integration.lab.support import connects, listener, needs_namespaces, state_dir

pytestmark = [pytest.mark.lab, needs_namespaces]

APP_PORT = 8080
API_PORT = 5681


def _reaches(lab: Lab, source: str, target: str, port: int) -> bool:
    destination = lab.host(target)
    with listener(destination.namespace, destination.address, port):
        return connects(lab.host(source).namespace, destination.address, port)


@pytest.fixture(scope="module")
def with_zone_egress() -> Iterator[Lab]:
    with state_dir() as state:
        lab = Lab.up(KONG_AIR.with_zone_egress(True), state)
        try:
            yield lab
        finally:
            lab.down()


@pytest.mark.parametrize(
    ("target", "port"),
    [
        ("eu-west-1/flight-control-1", APP_PORT),
        ("eu-west-1/control-plane", KDS_PORT),
        ("eu-west-1/ingress", APP_PORT),
        ("eu-west-1/egress", APP_PORT),
        ("global/control-plane", KDS_PORT),
        ("global/control-plane", API_PORT),
    ],
)
def test_an_app_host_reaches_nothing_outside_its_zone_but_ingresses(
    kong_air: Lab, target: str, port: int
) -> None:
    assert not _reaches(kong_air, "us-east-1/client-1", target, port)


def test_an_app_host_reaches_its_own_zone(kong_air: Lab) -> None:
    assert _reaches(kong_air, "us-east-1/client-1", "us-east-1/flight-control-1", APP_PORT)


@pytest.mark.parametrize("router_zone", ["us-east-1", "eu-west-1"])
def test_no_router_answers_an_app_host(kong_air: Lab, router_zone: str) -> None:
    router = next(zone for zone in kong_air.plan.zones if zone.name == router_zone)
    client = kong_air.host("us-east-1/client-1")
    for address in (router.router_lan_address, router.router_wan_address):
        with listener(router.router_namespace, str(address), APP_PORT):
            assert not connects(client.namespace, str(address), APP_PORT)


def test_a_zone_control_plane_reaches_global_kds_and_nothing_else_there(kong_air: Lab) -> None:
    source = "us-east-1/control-plane"

    assert _reaches(kong_air, source, "global/control-plane", KDS_PORT)
    assert not _reaches(kong_air, source, "global/control-plane", API_PORT)
    assert not _reaches(kong_air, source, "eu-west-1/control-plane", KDS_PORT)


@pytest.mark.parametrize("port", [OTLP_PORT, SYSLOG_PORT], ids=["otlp", "syslog"])
def test_only_app_hosts_reach_the_monitoring_hosts_trace_and_log_ports(
    kong_air: Lab, port: int
) -> None:
    assert _reaches(kong_air, "us-east-1/client-1", "global/control-plane", port)
    assert _reaches(kong_air, "eu-west-1/flight-control-1", "global/control-plane", port)
    assert not _reaches(kong_air, "us-east-1/ingress", "global/control-plane", port)
    assert not _reaches(kong_air, "us-east-1/control-plane", "global/control-plane", port)


def test_without_zone_egress_any_host_of_a_zone_reaches_other_ingresses(kong_air: Lab) -> None:
    assert _reaches(kong_air, "us-east-1/client-1", "eu-west-1/ingress", INGRESS_PORT)
    assert _reaches(kong_air, "eu-west-1/flight-control-2", "us-east-1/ingress", INGRESS_PORT)
    assert not _reaches(kong_air, "global/control-plane", "us-east-1/ingress", INGRESS_PORT)


def test_with_zone_egress_only_the_egress_reaches_other_ingresses(with_zone_egress: Lab) -> None:
    lab = with_zone_egress

    assert _reaches(lab, "us-east-1/egress", "eu-west-1/ingress", INGRESS_PORT)
    assert not _reaches(lab, "us-east-1/client-1", "eu-west-1/ingress", INGRESS_PORT)
    assert not _reaches(lab, "us-east-1/ingress", "eu-west-1/ingress", INGRESS_PORT)
    assert not _reaches(lab, "us-east-1/egress", "eu-west-1/flight-control-1", APP_PORT)
    assert _reaches(lab, "us-east-1/control-plane", "global/control-plane", KDS_PORT)
