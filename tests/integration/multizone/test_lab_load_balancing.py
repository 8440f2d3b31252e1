"""MeshLoadBalancingStrategy in the lab: with the client in us-east-1 calling flight-control
under steady traffic, policies written at global and in the zone move the answers between
zones, each change shown by the zone that answers, with no process restarted:
- `localityAwareness.disabled` (at global): answers from both zones;
- `crossZone.failover` `Only: [eu-west-1]` (in us-east-1): answers stay local while the local
  instance lives (this zone always comes first), and come from eu-west-1 once it is killed;
- `None` instead: no zone may take over, so calls fail (503 from the client's sidecar)
  rather than go to eu-west-1;
- the policy deleted: the default failover, answers from eu-west-1 again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshfabric.lab import Lab
from meshfabric.lab.call_loop import answered_by, calls
from meshfabric.lab.envoy_admin import admin_get
from tests.integration.lab.support import needs_namespaces
from tests.integration.multizone.kong_air_lab import (
    GLOBAL,
    MESH,
    SERVICE,
    kill_instance,
    kong_air_mesh,
    start_load,
)
from tests.support.net import wait_until

pytestmark = [pytest.mark.lab, pytest.mark.envoy, pytest.mark.slow, needs_namespaces]

US, EU = "us-east-1", "eu-west-1"
POLICIES = f"/meshes/{MESH}/meshloadbalancingstrategies"


def strategy(name: str, locality: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "MeshLoadBalancingStrategy",
        "mesh": MESH,
        "name": name,
        "spec": {
            "to": [
                {
                    "targetRef": {"kind": "MeshService", "name": SERVICE},
                    "default": {"localityAwareness": locality},
                }
            ]
        },
    }


def endpoint_zones(socket: Path) -> set[str]:
    """The zones of the localities the client's Envoy holds flight-control's endpoints in."""
    clusters = json.loads(admin_get(socket, "/clusters?format=json"))
    return {
        host.get("locality", {}).get("zone", "")
        for status in clusters.get("cluster_statuses", [])
        if status["name"] == SERVICE
        for host in status.get("host_statuses", [])
    }


def failover_to(kind: str, *zones: str) -> dict[str, Any]:
    to: dict[str, Any] = {"type": kind, **({"zones": list(zones)} if zones else {})}
    return {"crossZone": {"failover": [{"to": to}]}}


def test_in_the_lab_load_balancing_strategies_move_traffic_between_zones_with_nothing_restarted(
    lab: Lab, tmp_path: Path
) -> None:
    cluster, admins = kong_air_mesh(lab, tmp_path)
    zone_cp = f"{US}/control-plane"
    out, stop = start_load(cluster, tmp_path)
    wait_until(lambda: answered_by(out).count(US) >= 100, 60, "steady local answers")

    def answers_since(mark: int) -> list[dict[str, Any]]:
        return calls(out)[mark:]

    def zones_since(mark: int) -> list[str]:
        return answered_by(out)[mark:]

    spread = len(calls(out))
    cluster.api(GLOBAL, "PUT", f"{POLICIES}/spread", strategy("spread", {"disabled": True}))
    wait_until(lambda: zones_since(spread).count(EU) >= 50, 60, "answers from eu-west-1")
    wait_until(lambda: zones_since(spread).count(US) >= 50, 60, "answers from us-east-1 too")

    cluster.api(GLOBAL, "DELETE", f"{POLICIES}/spread")
    cluster.api(zone_cp, "PUT", f"{POLICIES}/to-eu", strategy("to-eu", failover_to("Only", EU)))
    # In force once the client's endpoints carry their zones (the default gives none).
    wait_until(lambda: US in endpoint_zones(admins["client"]), 60, "the zone's policy")
    only_local = len(calls(out))
    wait_until(lambda: zones_since(only_local).count(US) >= 100, 60, "local answers")
    local_while_alive = answers_since(only_local)

    kill_instance(cluster, US)
    failed_over = len(calls(out))
    wait_until(lambda: zones_since(failed_over).count(EU) >= 100, 60, "eu-west-1 under Only")

    cluster.api(zone_cp, "PUT", f"{POLICIES}/to-eu", strategy("to-eu", failover_to("None")))
    wait_until(lambda: [a.get("service") for a in calls(out)[-50:]] == [None] * 50, 60, "fails")
    refused = len(calls(out))
    wait_until(lambda: len(answers_since(refused)) >= 50, 60, "more calls under None")
    under_none = answers_since(refused)

    cluster.api(zone_cp, "DELETE", f"{POLICIES}/to-eu")
    wait_until(lambda: answered_by(out)[-50:] == [EU] * 50, 60, "eu-west-1 by the default failover")
    stop.touch()
    cluster.processes["load"].wait(10)
    answered = calls(out)

    assert {answer.get("service") for answer in local_while_alive} == {US}
    assert all(answer["error"].startswith("503 ") for answer in under_none)
    # Nothing restarted: every process of the test still runs (but the killed instance and
    # the load, done), and the client's Envoy counted every call since it started.
    running = {key for key, process in cluster.processes.items() if process.poll() is None}
    assert running == set(cluster.processes) - {"app-us-east-1", "server-us-east-1", "load"}
    counted = admin_get(admins["client"], "/stats?filter=^http.outbound.*downstream_rq_total$")
    assert sum(int(line.rpartition(": ")[2]) for line in counted.splitlines()) >= len(answered)
