"""One Prometheus for every zone, in the lab: Prometheus runs in global's control-plane host
(the monitoring host), knows only global's discovery endpoint, and scrapes flight-control's
proxy in us-east-1 and in eu-west-1 through the zone firewalls, which open the metrics port
to that host alone."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfabric.lab import Lab
from meshfabric.lab.envoy_admin import is_live
from tests.integration.lab.support import needs_namespaces
from tests.integration.multizone.kong_air_lab import (
    GLOBAL,
    MESH,
    MESH_DOCUMENT,
    SERVICE,
    ZONES,
    federate,
    start_instance,
)
from tests.integration.multizone.test_global_prometheus import documented_config
from tests.support.net import wait_until
from tests.support.prometheus import BINARY, mesh_wide_meshmetric

pytestmark = [pytest.mark.lab, pytest.mark.envoy, pytest.mark.slow, needs_namespaces]

METRICS_PORT = 5670  # Kuma's default, the port the lab firewalls open
PROMETHEUS = "127.0.0.1:9090"  # inside the monitoring host's own namespace


def test_in_the_lab_one_prometheus_at_global_scrapes_both_zones_through_the_firewalls(
    lab: Lab, tmp_path: Path
) -> None:
    cluster = federate(lab, tmp_path, MESH_DOCUMENT)
    metrics = mesh_wide_meshmetric(MESH, METRICS_PORT)
    cluster.api(GLOBAL, "PUT", f"/meshes/{MESH}/meshmetrics/prometheus", metrics)
    token = tmp_path / "prometheus.token"
    token.write_text(cluster.api(GLOBAL, "POST", "/tokens/user", {"name": "prometheus"}))
    for zone in ZONES:
        socket = start_instance(cluster, zone, "")
        wait_until(partial(is_live, socket), 60, f"flight-control's proxy in {zone}")

    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(documented_config("http://127.0.0.1:5681", token)))
    cluster.start(
        "prometheus", GLOBAL,
        [BINARY, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address={PROMETHEUS}"],
    )  # fmt: skip

    def live_proxies() -> list[dict[str, Any]]:
        return query(lab, 'envoy_server_live{job="meshfabric-proxies"} == 1')

    wait_until(lambda: len(live_proxies()) == 2, 60, "both zones' proxies scraped")
    seen = sorted((s["metric"]["zone"], s["metric"]["instance"]) for s in live_proxies())
    assert seen == [
        ("eu-west-1", f"{ZONES['eu-west-1']}.13:{METRICS_PORT}"),
        ("us-east-1", f"{ZONES['us-east-1']}.13:{METRICS_PORT}"),
    ]
    assert {s["metric"]["service"] for s in live_proxies()} == {SERVICE}
    # The port is open to the monitoring host alone: another zone's host cannot reach it.
    us_proxy = f"{ZONES['us-east-1']}.13"
    reach = ["nc", "-z", "-w", "1", us_proxy, str(METRICS_PORT)]
    assert lab.host(GLOBAL).run(reach, check=False).returncode == 0
    assert lab.host("eu-west-1/flight-control-1").run(reach, check=False).returncode != 0
    cluster.processes["prometheus"].terminate()
    cluster.processes["prometheus"].wait(10)


def query(lab: Lab, expression: str) -> list[dict[str, Any]]:
    """A PromQL instant query, asked from inside the monitoring host."""
    command = [
        "curl", "-sf", "-G", f"http://{PROMETHEUS}/api/v1/query",
        "--data-urlencode", f"query={expression}",
    ]  # fmt: skip
    done = lab.host(GLOBAL).run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return []  # not up yet
    result: list[dict[str, Any]] = json.loads(done.stdout)["data"]["result"]
    return result
