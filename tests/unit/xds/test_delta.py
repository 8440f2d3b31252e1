from envoy.service.discovery.v3.discovery_pb2 import DeltaDiscoveryRequest, DeltaDiscoveryResponse
from google.rpc.status_pb2 import Status

from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy.types import CLUSTER, ENDPOINT, PUSH_ORDER
from meshfabric.xds.model.proxy import ProxyId
from meshfabric.xds.server.delta import DeltaSession
from tests.unit.xds.snapshots import RecordingHooks, snapshot


class Proxy:
    def __init__(self, current: Snapshot | None) -> None:
        self.current = current
        self.hooks = RecordingHooks()
        self.session = DeltaSession(ProxyId("mesh", "web"), self.hooks, lambda _proxy: self.current)


def names(response: DeltaDiscoveryResponse) -> list[str]:
    return [resource.name for resource in response.resources]


def test_only_changed_resources_travel_and_removals_are_named() -> None:
    proxy = Proxy(snapshot({"a": 1, "b": 2}))
    [first] = proxy.session.on_request(DeltaDiscoveryRequest(type_url=CLUSTER))
    assert names(first) == ["a", "b"]
    proxy.current = snapshot({"a": 1, "c": 3})
    [second] = proxy.session.on_snapshot(proxy.current)
    assert names(second) == ["c"]
    assert list(second.removed_resources) == ["b"]


def test_a_wildcard_subscription_is_answered_even_when_there_is_nothing_of_its_type() -> None:
    proxy = Proxy(snapshot({}))
    [first] = proxy.session.on_request(DeltaDiscoveryRequest(type_url=CLUSTER))
    assert names(first) == []
    assert list(first.removed_resources) == []
    assert proxy.session.on_snapshot(snapshot({})) == []


def test_a_reconnecting_proxy_gets_only_what_it_lacks() -> None:
    current = snapshot({"a": 1, "b": 2})
    proxy = Proxy(current)
    held = {"a": current.of_type(CLUSTER)["a"].version, "b": "stale"}
    request = DeltaDiscoveryRequest(type_url=CLUSTER, initial_resource_versions=held)
    [response] = proxy.session.on_request(request)
    assert names(response) == ["b"]


def test_endpoints_are_sent_only_once_subscribed() -> None:
    proxy = Proxy(snapshot({"a": 1}, endpoints={"a": 1, "b": 2}))
    subscribe = DeltaDiscoveryRequest(type_url=ENDPOINT, resource_names_subscribe=["a"])
    [response] = proxy.session.on_request(subscribe)
    assert names(response) == ["a"]


def test_a_nack_rolls_back_and_is_not_resent_in_a_loop() -> None:
    proxy = Proxy(snapshot({"a": 1}))
    [first] = proxy.session.on_request(DeltaDiscoveryRequest(type_url=CLUSTER))
    proxy.session.on_request(DeltaDiscoveryRequest(type_url=CLUSTER, response_nonce=first.nonce))
    proxy.current = snapshot({"a": 2})
    [bad] = proxy.session.on_snapshot(proxy.current)
    nack = DeltaDiscoveryRequest(
        type_url=CLUSTER, response_nonce=bad.nonce, error_detail=Status(message="no")
    )
    assert proxy.session.on_request(nack) == []
    assert proxy.session.on_snapshot(proxy.current) == []
    assert [n[3] for n in proxy.hooks.nacks] == ["no"]
    assert len(proxy.hooks.acks) == 1
    proxy.current = snapshot({"a": 3})
    [fixed] = proxy.session.on_snapshot(proxy.current)
    assert names(fixed) == ["a"]


def test_a_push_follows_the_sds_cds_eds_lds_rds_order() -> None:
    proxy = Proxy(None)
    for type_url in reversed(PUSH_ORDER):
        proxy.session.on_request(
            DeltaDiscoveryRequest(type_url=type_url, resource_names_subscribe=["a"])
        )
    proxy.current = snapshot({"a": 1}, endpoints={"a": 1})
    responses = proxy.session.on_snapshot(proxy.current)
    assert [r.type_url for r in responses] == [CLUSTER, ENDPOINT]


def test_an_updated_cluster_gets_its_unchanged_endpoints_again() -> None:
    proxy = Proxy(snapshot({"a": 1}, endpoints={"a": 1}))
    proxy.session.on_request(DeltaDiscoveryRequest(type_url=CLUSTER))
    subscribe = DeltaDiscoveryRequest(type_url=ENDPOINT, resource_names_subscribe=["a"])
    assert len(proxy.session.on_request(subscribe)) == 1
    proxy.current = snapshot({"a": 2}, endpoints={"a": 1})
    clusters, endpoints = proxy.session.on_snapshot(proxy.current)
    assert (names(clusters), names(endpoints)) == (["a"], ["a"])


def test_an_unsubscribed_resource_is_no_longer_sent_while_the_others_are() -> None:
    proxy = Proxy(snapshot({}, endpoints={"a": 1, "b": 1}))
    subscribe = DeltaDiscoveryRequest(type_url=ENDPOINT, resource_names_subscribe=["a", "b"])
    [first] = proxy.session.on_request(subscribe)
    assert names(first) == ["a", "b"]
    unsubscribe = DeltaDiscoveryRequest(
        type_url=ENDPOINT, response_nonce=first.nonce, resource_names_unsubscribe=["a"]
    )
    assert proxy.session.on_request(unsubscribe) == []
    proxy.current = snapshot({}, endpoints={"a": 2, "b": 2})
    [second] = proxy.session.on_snapshot(proxy.current)
    assert (names(second), list(second.removed_resources)) == (["b"], [])


def test_a_rejection_on_one_stream_leaves_what_another_holds_of_the_same_resources() -> None:
    one, other = Proxy(snapshot({"a": 1})), Proxy(snapshot({"a": 1}))
    [to_one] = one.session.on_request(DeltaDiscoveryRequest(type_url=CLUSTER))
    [to_other] = other.session.on_request(DeltaDiscoveryRequest(type_url=CLUSTER))
    other.session.on_request(DeltaDiscoveryRequest(type_url=CLUSTER, response_nonce=to_other.nonce))
    refusal = Status(message="no")
    nack = DeltaDiscoveryRequest(
        type_url=CLUSTER, response_nonce=to_one.nonce, error_detail=refusal
    )
    one.session.on_request(nack)
    without_a = snapshot({"b": 2})
    [to_one] = one.session.on_snapshot(without_a)
    [to_other] = other.session.on_snapshot(without_a)
    assert list(to_one.removed_resources) == []  # its Envoy never took "a"
    assert list(to_other.removed_resources) == ["a"]
