from meshfabric.xds.cache.snapshot import SnapshotCache
from meshfabric.xds.envoy.types import CLUSTER
from meshfabric.xds.model.proxy import ProxyId
from tests.unit.xds.snapshots import snapshot


def test_versions_are_content_hashes_that_survive_regeneration() -> None:
    first = snapshot({"a": 1, "b": 2})
    again = snapshot({"b": 2, "a": 1})
    assert first.versions == again.versions
    assert first.of_type(CLUSTER)["a"].version == again.of_type(CLUSTER)["a"].version


def test_a_changed_resource_changes_only_its_own_version_and_its_types() -> None:
    before, after = snapshot({"a": 1, "b": 2}), snapshot({"a": 1, "b": 3})
    assert before.of_type(CLUSTER)["a"].version == after.of_type(CLUSTER)["a"].version
    assert before.of_type(CLUSTER)["b"].version != after.of_type(CLUSTER)["b"].version
    assert before.version(CLUSTER) != after.version(CLUSTER)
    assert before.version(CLUSTER, ["a"]) == after.version(CLUSTER, ["a"])


def test_watchers_hear_only_real_changes() -> None:
    cache, seen = SnapshotCache(), []
    web = ProxyId("mesh", "web")
    with cache.watch(web, seen.append):
        assert cache.set(web, snapshot({"a": 1}))
        assert not cache.set(web, snapshot({"a": 1}))
        assert cache.set(web, snapshot({"a": 2}))
        cache.set(ProxyId("mesh", "other"), snapshot({"a": 3}))
    cache.set(web, snapshot({"a": 4}))
    assert len(seen) == 2


def test_proxies_whose_mesh_and_name_join_alike_are_different_proxies() -> None:
    cache, seen = SnapshotCache(), []
    with cache.watch(ProxyId("a.b", "c"), seen.append):
        cache.set(ProxyId("a", "b.c"), snapshot({"a": 1}))
    assert seen == []
    assert cache.get(ProxyId("a.b", "c")) is None
