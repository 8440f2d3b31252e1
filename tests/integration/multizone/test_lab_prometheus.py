"""One Prometheus for every zone, in the lab: Prometheus runs in global's control-plane host
(the monitoring host), knows only global's discovery endpoint and the control planes'
addresses, and scrapes the proxies of us-east-1 and eu-west-1 and the zone control planes
through the zone firewalls, which open the metrics ports to that host alone. With web
calling flight-control, every panel of the generated dashboards has data, and the console
page shows it."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfabric.lab import Lab
from meshfabric.lab.call_loop import calls
from meshfabric.telemetry import write_dashboards
from meshfabric.telemetry.dashboards import DASHBOARDS, resolved
from tests.integration.lab.support import needs_namespaces
from tests.integration.multizone.kong_air_lab import (
    GLOBAL,
    MESH,
    SERVICE,
    ZONES,
    Cluster,
    kong_air_mesh,
    start_load,
)
from tests.integration.multizone.test_global_prometheus import documented_config
from tests.support.net import wait_until
from tests.support.prometheus import BINARY, mesh_wide_meshmetric

pytestmark = [pytest.mark.lab, pytest.mark.envoy, pytest.mark.slow, needs_namespaces]

METRICS_PORT = 5670  # Kuma's default, the port the lab firewalls open
PROMETHEUS = "127.0.0.1:9090"  # inside the monitoring host's own namespace
CONTROL_PLANES = ["127.0.0.1:5680", *(f"{lan}.10:5680" for lan in ZONES.values())]
# The variables' values the panels are checked with, and Grafana's rate window at the
# dashboards' default range.
VALUES = {"mesh": MESH, "zone": "us-east-1", "service": SERVICE}
RATE_INTERVAL = "5m"


def test_in_the_lab_one_prometheus_at_global_scrapes_both_zones_and_answers_every_panel(
    lab: Lab, tmp_path: Path
) -> None:
    cluster, _ = kong_air_mesh(lab, tmp_path)
    token = tmp_path / "prometheus.token"
    token.write_text(cluster.api(GLOBAL, "POST", "/tokens/user", {"name": "prometheus"}))
    load, stop = start_load(cluster, tmp_path)
    start_prometheus(cluster, tmp_path, token)
    # Made once Prometheus scrapes the control planes, so that it sees the work it causes
    # (store writes, KDS, xDS generation and delivery) as rates.
    wait_until(lambda: len(query(lab, "up == 1")) == len(CONTROL_PLANES), 60, "the CPs scraped")
    metrics = mesh_wide_meshmetric(MESH, METRICS_PORT)
    cluster.api(GLOBAL, "PUT", f"/meshes/{MESH}/meshmetrics/prometheus", metrics)

    def live_proxies() -> list[dict[str, Any]]:
        return query(lab, 'envoy_server_live{job="meshfabric-proxies"} == 1')

    wait_until(lambda: len(live_proxies()) == 3, 60, "both zones' proxies scraped")
    seen = sorted((s["metric"]["zone"], s["metric"]["service"]) for s in live_proxies())
    assert seen == [("eu-west-1", SERVICE), ("us-east-1", SERVICE), ("us-east-1", "web")]
    assert {
        s["metric"]["instance"] for s in live_proxies() if s["metric"]["service"] == SERVICE
    } == {f"{lan}.13:{METRICS_PORT}" for lan in ZONES.values()}
    # A second change of the policy (its defaults made explicit): the series of a type's
    # first KDS sync starts at one observation, and only the next gives it a rate.
    metrics["spec"]["default"]["sidecar"] = {"includeUnused": False}
    cluster.api(GLOBAL, "PUT", f"/meshes/{MESH}/meshmetrics/prometheus", metrics)
    # The port is open to the monitoring host alone: another zone's host cannot reach it.
    reach = ["nc", "-z", "-w", "1", f"{ZONES['us-east-1']}.13", str(METRICS_PORT)]
    assert lab.host(GLOBAL).run(reach, check=False).returncode == 0
    assert lab.host("eu-west-1/flight-control-1").run(reach, check=False).returncode != 0

    with contextlib.suppress(TimeoutError):  # the assertion names the panels left empty
        wait_until(lambda: not panels_without_data(lab), 90, "data in every dashboard panel")
    assert panels_without_data(lab) == []
    page = console_page(lab)
    assert "nodata" not in page
    values = re.findall(r'<td class="value">([^<]*)</td>', page)
    panels = sum(len(board.panels) for board in DASHBOARDS)
    assert len(values) >= panels
    assert any(re.match(r"\d", value) for value in values)
    stop.write_text("")
    assert calls(load) and not [call for call in calls(load) if "error" in call]


def start_prometheus(cluster: Cluster, work: Path, token: Path) -> None:
    """docs/telemetry.md's configuration in the monitoring host, with the generated console
    page; every second a scrape and a discovery refresh."""
    config = documented_config("http://127.0.0.1:5681", token)
    control_planes = {"job_name": "meshfabric-control-planes",
                      "static_configs": [{"targets": CONTROL_PLANES}]}  # fmt: skip
    config["scrape_configs"].append(control_planes)
    path = work / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    write_dashboards(work / "dashboards")
    cluster.start(
        "prometheus", GLOBAL,
        [BINARY, f"--config.file={path}", f"--storage.tsdb.path={work / 'tsdb'}",
         f"--web.listen-address={PROMETHEUS}",
         f"--web.console.templates={work / 'dashboards' / 'consoles'}"],
    )  # fmt: skip


def panels_without_data(lab: Lab) -> list[str]:
    """The dashboard panels whose query answers no number (nothing, or only NaN)."""
    empty = []
    for board in DASHBOARDS:
        for panel in board.panels:
            samples = query(lab, resolved(panel.expr, VALUES, RATE_INTERVAL))
            if not [s for s in samples if s["value"][1] != "NaN"]:
                empty.append(f"{board.title}: {panel.title}")
    return empty


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


def console_page(lab: Lab) -> str:
    command = ["curl", "-sf", f"http://{PROMETHEUS}/consoles/meshfabric.html"]
    done = lab.host(GLOBAL).run(command, capture_output=True, text=True, check=True)
    return str(done.stdout)
