"""The collection's waits against a real proxy: a MeshService with a healthy proxy, and a
MeshMultiZoneService over it healthy in this zone. Both read status the control plane
computes from the proxy's connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.ansible.conftest import Ansible
from tests.integration.dataplane.support import (
    Sidecar,
    ZoneControlPlane,
    mtls_mesh,
    sidecar_dataplane,
)
from tests.support.net import free_port

pytestmark = pytest.mark.envoy


@pytest.fixture
def zone_cp(tmp_path: Path) -> Iterator[ZoneControlPlane]:
    cp = ZoneControlPlane(tmp_path / "cp")
    cp.start()
    cp.apply(mtls_mesh("default"))
    yield cp
    cp.stop()


@pytest.fixture
def flight_control(zone_cp: ZoneControlPlane, tmp_path: Path) -> Iterator[int]:
    """A running flight-control sidecar; yields its inbound port."""
    inbound = free_port()
    app_port = free_port()
    dataplane = sidecar_dataplane("flight-control-1", inbound, app_port, "flight-control", "http")
    token = zone_cp.dataplane_token("default", "flight-control")
    proxy = Sidecar(zone_cp, tmp_path / "dp", dataplane, token).start()
    try:
        proxy.wait_ready()
        yield inbound
    finally:
        proxy.stop()


def test_waits_for_a_healthy_proxy_and_a_healthy_zone(
    ansible: Ansible, zone_cp: ZoneControlPlane, flight_control: int, tmp_path: Path
) -> None:
    service_file = tmp_path / "flight-control-service.yaml"
    service_file.write_text(
        yaml.safe_dump(
            {
                "type": "MeshService",
                "mesh": "default",
                "name": "flight-control",
                "spec": {
                    "selector": {"dataplaneTags": {"kuma.io/service": "flight-control"}},
                    "ports": [{"port": 8080, "targetPort": flight_control, "appProtocol": "http"}],
                },
            }
        )
    )
    tasks = [
        {
            "name": "Wait until a MeshService has a healthy proxy",
            "meshfabric.mesh.resource": {
                "src": str(service_file),
                "wait": True,
                "wait_timeout": 30,
                "wait_condition": {"path": "status.dataplaneProxies.healthy", "at_least": 1},
            },
        },
        {
            "name": "served from this zone",
            "meshfabric.mesh.multizone_service": {
                "name": "flight-control",
                "ports": [{"port": 8080}],
                "wait": True,
                "wait_timeout": 30,
                "wait_condition": {"healthy_zones": 1},
            },
        },
    ]
    run = ansible.playbook(tasks, control_plane=zone_cp)
    assert run.returncode == 0, run.output
    assert run.result("Wait until a MeshService has a healthy proxy")["changed"]
    assert run.result("served from this zone")["healthy_zones"] == ["default"]
