"""Cross-zone traffic in the lab: every control plane, ingress, sidecar and app in its own
lab host behind the zone firewalls. The client in us-east-1 calls flight-control; its
answers come from us-east-1 while the local instance lives and, once it is killed under
steady traffic, from eu-west-1 through eu-west-1's ingress (the only path the firewall
leaves), mTLS end to end, with no failed request."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshfabric.lab import Lab
from meshfabric.lab.call_loop import answered_by, calls
from meshfabric.lab.envoy_admin import admin_get
from tests.integration.lab.support import needs_namespaces
from tests.integration.multizone.kong_air_lab import (
    MESH,
    SERVICE,
    kill_instance,
    kong_air_mesh,
    start_instance,
    start_load,
)
from tests.support.net import wait_until

pytestmark = [pytest.mark.lab, pytest.mark.envoy, pytest.mark.slow, needs_namespaces]


def test_in_the_lab_calls_fail_over_to_eu_west_1_through_its_ingress_without_errors(
    lab: Lab, tmp_path: Path
) -> None:
    cluster, admins = kong_air_mesh(lab, tmp_path)
    out, stop = start_load(cluster, tmp_path)
    wait_until(lambda: answered_by(out).count("us-east-1") >= 100, 60, "steady local answers")
    before = calls(out)
    kill_instance(cluster, "us-east-1")
    wait_until(lambda: answered_by(out)[len(before) :].count("eu-west-1") >= 200, 60, "eu-west-1")
    failed_over = calls(out)
    start_instance(cluster, "us-east-1", "-back")  # the local instance returns
    wait_until(lambda: answered_by(out)[-100:] == ["us-east-1"] * 100, 60, "local answers again")
    stop.touch()
    cluster.processes["load"].wait(10)
    answered = calls(out)

    assert {call.get("service") for call in before} == {"us-east-1"}
    failed = [call for call in answered if "error" in call]
    print(f"failed requests across failover and failback: {len(failed)} of {len(answered)}")
    assert failed == []
    assert {call["service"] for call in failed_over[-50:]} == {"eu-west-1"}
    assert {call["caller"] for call in failed_over[-50:]} == {f"spiffe://{MESH}/web"}
    # Envoy shows the ":" of the cluster name as "_" in its stats.
    through_ingress = admin_get(
        admins["ingress-eu-west-1"], f"/stats?filter=^cluster.ingress_{SERVICE}.upstream_cx_total$"
    )
    assert int(through_ingress.rpartition(": ")[2]) > 0
