"""MeshService outbounds: by backendRef or by VIP, with the endpoints its selector picks."""

from __future__ import annotations

from typing import Any

from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.extensions.filters.udp.dns_filter.v3.dns_filter_pb2 import DnsFilterConfig

from meshfabric.dataplane_api.node import DnsAddress, Features
from meshfabric.dns import default_generators
from meshfabric.resources import Resource
from meshfabric.xds.envoy import names, types
from meshfabric.xds.generate.profile import build_resources
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.proxy_context import ProxyContext
from tests.unit.policies.generation import dataplane, get

VIP = "241.0.0.7"


def flight_control(**spec: Any) -> Resource:
    return Resource(
        "MeshService",
        "default",
        "flight-control",
        {
            "selector": {"dataplaneTags": {"kuma.io/service": "flight-control"}},
            "ports": [{"port": 80, "targetPort": 8080, "appProtocol": "http"}],
            **spec,
        },
        status={"vips": [{"ip": VIP}]},
    )


def mesh_with(*resources: Resource) -> MeshContext:
    mesh = MeshContext("default")
    mesh.put(Resource("Mesh", "", "default", {}))
    for resource in resources:
        mesh.put(resource)
    return mesh


def two_ports(name: str) -> Resource:
    found = dataplane(name, "flight-control", "tcp", 8080)
    inbound = found.spec["networking"]["inbound"]
    inbound.append({**inbound[0], "port": 9090, "servicePort": 9091})
    return found


def generated(mesh: MeshContext, name: str, features: Features) -> Any:
    proxy = mesh.proxy(name)
    assert proxy is not None
    ctx = ProxyContext.of(mesh, proxy, None, features)
    return build_resources(ctx)


def test_a_backend_ref_reaches_the_inbounds_the_selector_and_target_port_pick() -> None:
    client = dataplane("booking-1", "booking", "http", 7000)
    client.spec["networking"]["outbound"] = [
        {"port": 10000, "backendRef": {"kind": "MeshService", "name": "flight-control", "port": 80}}
    ]
    mesh = mesh_with(client, two_ports("fc-1"), flight_control())
    cluster = names.mesh_service_cluster("flight-control", 80)
    resources = generated(mesh, "booking-1", Features())
    endpoints = get(resources, types.ENDPOINT, cluster).endpoints[0].lb_endpoints
    assert [e.endpoint.address.socket_address.port_value for e in endpoints] == [8080]
    # http by the port's appProtocol, though the inbounds' tags say tcp
    assert get(resources, types.ROUTE, names.outbound_route(cluster))


def test_vip_and_dns_listeners_only_for_proxies_whose_host_offers_them() -> None:
    mesh = mesh_with(
        dataplane("booking-1", "booking", "http", 7000),
        flight_control(),
        *default_generators(False, None),
    )
    plain = generated(mesh, "booking-1", Features())
    assert not [i for i in plain.encode() if i.name.startswith(f"outbound:{VIP}")]

    dns = DnsAddress("127.0.0.1", 15053)
    resources = generated(mesh, "booking-1", Features(dns, vips=True))
    listener: Listener = get(resources, types.LISTENER, names.outbound_listener(VIP, 80))
    assert listener.address.socket_address.address == VIP
    config = DnsFilterConfig()
    dns_listener = get(resources, types.LISTENER, names.dns_listener())
    dns_listener.listener_filters[0].typed_config.Unpack(config)
    table = config.server_config.inline_dns_table.virtual_domains
    assert [(d.name, list(d.endpoint.address_list.address)) for d in table] == [
        ("flight-control.svc.mesh.local", [VIP])
    ]


def test_selectors_by_dataplane_name_and_labels() -> None:
    by_labels = two_ports("fc-2")
    by_labels.labels["app"] = "flight-control"
    mesh = mesh_with(two_ports("fc-1"), by_labels)
    for selector, picked in (
        ({"dataplaneRef": {"name": "fc-1"}}, ["fc-1"]),
        ({"dataplaneLabels": {"matchLabels": {"app": "flight-control"}}}, ["fc-2"]),
        ({"dataplaneTags": {"kuma.io/service": "flight-control"}}, ["fc-1", "fc-2"]),
    ):
        mesh.put(flight_control(selector=selector))
        cluster = names.mesh_service_cluster("flight-control", 80)
        assert [e.dataplane for e in mesh.endpoints(cluster)] == picked
