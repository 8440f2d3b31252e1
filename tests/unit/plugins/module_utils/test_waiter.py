# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.meshfabric.mesh.plugins.module_utils import waiter
from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import MeshTimeoutError


def test_value_at_follows_dicts_and_list_indexes() -> None:
    doc = {"status": {"items": [{"n": 3}]}}
    assert waiter.value_at(doc, "status.items.0.n") == 3
    assert waiter.value_at(doc, "status.items.5.n") is None
    assert waiter.value_at(doc, "spec.missing") is None


def test_condition_at_least_and_equals() -> None:
    service = {"status": {"dataplaneProxies": {"healthy": 2}}}
    assert waiter.condition_holds(
        service, {"path": "status.dataplaneProxies.healthy", "at_least": 2}
    )
    assert not waiter.condition_holds(
        service, {"path": "status.dataplaneProxies.healthy", "at_least": 3}
    )
    assert waiter.condition_holds(service, {"path": "status.dataplaneProxies.healthy", "equals": 2})


def test_zone_is_online_while_its_last_subscription_is_connected() -> None:
    def overview(*subscriptions: dict[str, str]) -> dict[str, object]:
        return {"zoneInsight": {"subscriptions": list(subscriptions)}}

    assert waiter.zone_online(
        overview({"connectTime": "t1", "disconnectTime": "t2"}, {"connectTime": "t3"})
    )
    assert not waiter.zone_online(overview({"connectTime": "t1", "disconnectTime": "t2"}))
    assert not waiter.zone_online({"zoneInsight": {}})


def test_healthy_zones_counts_zones_with_a_healthy_proxy() -> None:
    mzs = {
        "mesh": "default",
        "status": {
            "meshServices": [
                {"name": "fc-east", "zone": "us-east-1", "mesh": "default"},
                {"name": "fc-west", "zone": "eu-west-1", "mesh": "default"},
            ]
        },
    }
    healthy = {"fc-east": 1, "fc-west": 0}

    def mesh_service(mesh: str, name: str) -> dict[str, object]:
        return {"status": {"dataplaneProxies": {"healthy": healthy[name]}}}

    assert waiter.healthy_zones(mzs, mesh_service) == {"us-east-1"}


def test_wait_for_returns_the_first_true_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiter, "POLL_INTERVAL", 0)
    answers = iter([None, 0, "ready"])
    assert waiter.wait_for(lambda: next(answers), 5, "something") == "ready"


def test_wait_for_gives_up_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiter, "POLL_INTERVAL", 0)
    with pytest.raises(MeshTimeoutError, match="waiting for the moon"):
        waiter.wait_for(lambda: None, 0, "the moon")
