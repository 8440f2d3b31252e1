"""Who may write what over KDS, and how a large answer is split, against a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from meshfabric.kds.flows import (
    FromGlobal,
    FromZone,
    ToGlobal,
    ToZone,
    downward_types,
    upward_types,
)
from meshfabric.kds.names import global_labels, hashed_name, zone_labels
from meshfabric.kds.sender import Sender
from meshfabric.kds.wire import Rejected, encode
from meshfabric.resources import REGISTRY, Resource, ResourceKey
from meshfabric.store.sqlite import SqliteStore


def policy(name: str, labels: dict[str, str] | None = None) -> Resource:
    default = {"connectionTimeout": "5s"}
    spec = {
        "targetRef": {"kind": "Mesh"},
        "to": [{"targetRef": {"kind": "Mesh"}, "default": default}],
    }
    return Resource("MeshTimeout", "default", name, spec, labels or {})


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "kds.db")
    await store.put(Resource("Mesh", "", "default", {}))
    yield store
    await store.close()


async def test_global_renames_and_labels_what_a_zone_sends(sqlite: SqliteStore) -> None:
    inbound = FromZone(sqlite, "zone-a")
    forged = policy("slow", {"kuma.io/zone": "zone-b", "team": "core"})
    accepted = await inbound.accept(REGISTRY.get("MeshTimeout"), forged)
    assert accepted.name == hashed_name("default", "slow", "zone-a")
    assert accepted.labels == zone_labels({"team": "core"}, "zone-a", "slow")


async def test_a_zone_may_not_touch_what_another_zone_or_global_made(sqlite: SqliteStore) -> None:
    inbound = FromZone(sqlite, "zone-a")
    key = ResourceKey("MeshTimeout", "default", "x")
    with pytest.raises(Rejected, match='made by zone "zone-b"; zone "zone-a" may not change it'):
        inbound.guard(key, policy("x", zone_labels({}, "zone-b", "x")))
    with pytest.raises(Rejected, match='made by global; zone "zone-a" may not change it'):
        inbound.guard(key, policy("x", global_labels({})))
    inbound.guard(key, policy("x", zone_labels({}, "zone-a", "x")))
    inbound.guard(key, None)


async def test_global_may_not_replace_what_a_zone_made(sqlite: SqliteStore) -> None:
    inbound = FromGlobal(sqlite, "zone-a")
    key = ResourceKey("MeshTimeout", "default", "x")
    with pytest.raises(Rejected, match='made in zone "zone-a"; global may not replace it'):
        inbound.guard(key, policy("x", zone_labels({}, "zone-a", "x")))
    inbound.guard(key, policy("x", global_labels({})))


def test_nothing_goes_back_to_its_zone_and_token_keys_never_leave() -> None:
    timeout, service = REGISTRY.get("MeshTimeout"), REGISTRY.get("MeshService")
    from_a = Resource("MeshService", "default", "backend-x", {}, zone_labels({}, "zone-a", "b"))
    assert ToZone("zone-a").export(service, from_a) is None
    assert ToZone("zone-b").export(service, from_a) == from_a
    zone_policy = policy("p", zone_labels({}, "zone-a", "p"))
    assert ToZone("zone-b").export(timeout, zone_policy) is None, "zone policies stay up"
    key = Resource("Secret", "default", "dataplane-token-signing-key", {"data": "eA=="})
    assert ToZone("zone-a").export(REGISTRY.get("Secret"), key) is None
    assert ToGlobal("zone-a").export(timeout, policy("p", global_labels({}))) is None


def test_a_large_answer_is_split_under_the_message_limit(sqlite: SqliteStore) -> None:
    sender = Sender(sqlite, ToZone("zone-a"), "zone-a", 64 * 1024)
    padding = {f"label-{i:02d}": "x" * 63 for i in range(20)}
    entries = [encode(policy(f"p-{i:03d}", padding)) for i in range(100)]
    chunks = sender._split(REGISTRY.get("MeshTimeout"), entries, ["default/gone"])
    assert len(chunks) >= 3
    assert [entry.name for chunk in chunks for entry in chunk[0]] == [e.name for e in entries]
    assert chunks[-1][1] == ["default/gone"]
    assert all(sum(e.ByteSize() for e in chunk[0]) < 64 * 1024 for chunk in chunks)


def test_dataplane_insights_go_up_to_global_and_never_down() -> None:
    assert "DataplaneInsight" in [rtype.name for rtype in upward_types()]
    assert "DataplaneInsight" not in [rtype.name for rtype in downward_types()]
    assert "DataplaneInsight" not in REGISTRY, "no CRUD routes: only the control plane writes it"


async def test_global_keeps_a_zones_insight_under_its_dataplanes_hashed_name(
    sqlite: SqliteStore,
) -> None:
    insight = Resource("DataplaneInsight", "default", "web-1", {"subscriptions": [{"id": "1"}]})
    rtype = next(t for t in upward_types() if t.name == "DataplaneInsight")
    accepted = await FromZone(sqlite, "zone-a").accept(rtype, insight)
    assert accepted.name == hashed_name("default", "web-1", "zone-a")
    assert accepted.labels["kuma.io/zone"] == "zone-a"
