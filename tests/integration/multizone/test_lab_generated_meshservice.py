"""In the lab, with no MeshService written anywhere: each zone generates flight-control's
from its Dataplane, and an app in us-east-1 calls eu-west-1's by its zone hostname."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshfabric.lab import Lab
from tests.integration.lab.support import needs_namespaces
from tests.integration.multizone.kong_air_lab import INBOUND_PORT, MESH, SERVICE, kong_air_mesh
from tests.integration.multizone.test_lab_mesh_names import (
    NAMES_BY_SIDECAR,
    _answer,
    client_resolver,
)
from tests.support.net import wait_until

__all__ = ["client_resolver"]  # the fixture, imported to be used here

pytestmark = [pytest.mark.lab, pytest.mark.envoy, pytest.mark.slow, needs_namespaces]

# A generated MeshService's port is its Dataplane's inbound port.
EU_WEST_URL = f"http://{SERVICE}.svc.eu-west-1.mesh.local:{INBOUND_PORT}/"


def test_in_the_lab_a_generated_meshservice_answers_by_its_zone_hostname(
    lab: Lab, client_resolver: Path, tmp_path: Path
) -> None:
    cluster, _ = kong_air_mesh(lab, tmp_path, *NAMES_BY_SIDECAR, generated=True)
    path = f"/meshes/{MESH}/meshservices/{SERVICE}"
    for zone in ("us-east-1", "eu-west-1"):
        service = json.loads(cluster.api(f"{zone}/control-plane", "GET", path))
        assert service["labels"]["kuma.io/managed-by"] == "meshservice-generator"
    wait_until(lambda: _answer(cluster, EU_WEST_URL) == "eu-west-1", 60, "eu-west-1 by name")
