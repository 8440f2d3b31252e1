from envoy.service.discovery.v3.discovery_pb2 import DiscoveryRequest
from google.rpc.status_pb2 import Status

from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy.types import CLUSTER, ENDPOINT
from meshfabric.xds.model.proxy import ProxyId
from meshfabric.xds.server.sotw import SotwSession
from tests.unit.xds.snapshots import RecordingHooks, snapshot


class Proxy:
    def __init__(self, current: Snapshot | None) -> None:
        self.current = current
        self.hooks = RecordingHooks()
        self.session = SotwSession(ProxyId("mesh", "web"), self.hooks, lambda _proxy: self.current)


def test_clusters_are_sent_whole_and_endpoints_only_by_name() -> None:
    proxy = Proxy(snapshot({"a": 1, "b": 2}, endpoints={"a": 1, "b": 2}))
    [clusters] = proxy.session.on_request(DiscoveryRequest(type_url=CLUSTER))
    assert len(clusters.resources) == 2
    request = DiscoveryRequest(type_url=ENDPOINT, resource_names=["a"])
    [endpoints] = proxy.session.on_request(request)
    assert len(endpoints.resources) == 1


def test_an_ack_is_recorded_and_answered_with_nothing() -> None:
    proxy = Proxy(snapshot({"a": 1}))
    [response] = proxy.session.on_request(DiscoveryRequest(type_url=CLUSTER))
    ack = DiscoveryRequest(
        type_url=CLUSTER, version_info=response.version_info, response_nonce=response.nonce
    )
    assert proxy.session.on_request(ack) == []
    assert proxy.hooks.acks == [(ProxyId("mesh", "web"), CLUSTER, response.version_info)]


def test_a_rejected_version_is_not_resent_but_the_next_one_is() -> None:
    proxy = Proxy(snapshot({"a": 1}))
    [first] = proxy.session.on_request(DiscoveryRequest(type_url=CLUSTER))
    proxy.session.on_request(
        DiscoveryRequest(
            type_url=CLUSTER, version_info=first.version_info, response_nonce=first.nonce
        )
    )
    proxy.current = snapshot({"a": 2})
    [bad] = proxy.session.on_snapshot(proxy.current)
    nack = DiscoveryRequest(
        type_url=CLUSTER,
        version_info=first.version_info,
        response_nonce=bad.nonce,
        error_detail=Status(message="bad cluster"),
    )
    assert proxy.session.on_request(nack) == []
    assert proxy.session.on_snapshot(proxy.current) == []
    assert proxy.hooks.nacks == [(ProxyId("mesh", "web"), CLUSTER, bad.version_info, "bad cluster")]
    proxy.current = snapshot({"a": 3})
    [fixed] = proxy.session.on_snapshot(proxy.current)
    assert fixed.version_info not in (first.version_info, bad.version_info)


def test_requests_with_a_stale_nonce_are_ignored() -> None:
    proxy = Proxy(snapshot({"a": 1}))
    [first] = proxy.session.on_request(DiscoveryRequest(type_url=CLUSTER))
    proxy.current = snapshot({"a": 2})
    [second] = proxy.session.on_snapshot(proxy.current)
    late_nack = DiscoveryRequest(
        type_url=CLUSTER, response_nonce=first.nonce, error_detail=Status(message="old")
    )
    assert proxy.session.on_request(late_nack) == []
    assert proxy.hooks.nacks == []
    assert second.nonce != first.nonce


def test_a_new_name_is_answered_even_when_it_doubles_as_an_ack() -> None:
    proxy = Proxy(snapshot({"a": 1, "b": 2}, endpoints={"a": 1, "b": 2}))
    [first] = proxy.session.on_request(DiscoveryRequest(type_url=ENDPOINT, resource_names=["a"]))
    both = DiscoveryRequest(
        type_url=ENDPOINT,
        resource_names=["a", "b"],
        version_info=first.version_info,
        response_nonce=first.nonce,
    )
    [second] = proxy.session.on_request(both)
    assert len(second.resources) == 2


def test_a_reconnecting_proxy_that_is_current_gets_nothing() -> None:
    current = snapshot({"a": 1})
    proxy = Proxy(current)
    request = DiscoveryRequest(type_url=CLUSTER, version_info=current.version(CLUSTER))
    assert proxy.session.on_request(request) == []


def test_nothing_is_sent_before_there_is_a_snapshot() -> None:
    proxy = Proxy(None)
    assert proxy.session.on_request(DiscoveryRequest(type_url=CLUSTER)) == []
    proxy.current = snapshot({"a": 1})
    assert len(proxy.session.on_snapshot(proxy.current)) == 1


def test_an_updated_cluster_gets_its_unchanged_endpoints_again() -> None:
    proxy = Proxy(snapshot({"a": 1}, endpoints={"a": 1}))
    assert len(proxy.session.on_request(DiscoveryRequest(type_url=CLUSTER))) == 1
    [endpoints] = proxy.session.on_request(
        DiscoveryRequest(type_url=ENDPOINT, resource_names=["a"])
    )
    proxy.current = snapshot({"a": 2}, endpoints={"a": 1})
    responses = proxy.session.on_snapshot(proxy.current)
    assert [r.type_url for r in responses] == [CLUSTER, ENDPOINT]
    assert responses[1].version_info == endpoints.version_info
