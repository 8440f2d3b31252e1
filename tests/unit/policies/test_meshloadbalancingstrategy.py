"""MeshLoadBalancingStrategy: what the golden files cannot show, as they build one proxy."""

from __future__ import annotations

from decimal import Decimal

import pytest
from envoy.config.endpoint.v3.endpoint_pb2 import ClusterLoadAssignment

from meshfabric.dataplane_api.node import Features
from meshfabric.policies.core import to_conf
from meshfabric.policies.meshloadbalancingstrategy.api import Spec
from meshfabric.policies.meshloadbalancingstrategy.locality import overprovisioning_factor
from meshfabric.resources import Resource
from meshfabric.xds.envoy import types
from meshfabric.xds.generate.profile import build_resources
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.proxy_context import ProxyContext
from tests.unit.policies.generation import dataplane, get

SAME_NODE_FIRST = {
    "to": [
        {
            "targetRef": {"kind": "MeshService", "name": "backend"},
            "default": {"localityAwareness": {"localZone": {"affinityTags": [{"key": "node"}]}}},
        }
    ]
}


def on_node(resource: Resource, node: str, address: str) -> Resource:
    networking = resource.spec["networking"]
    networking["address"] = address
    for inbound in networking["inbound"]:
        inbound["tags"]["node"] = node
    return resource


def heaviest_locality_addresses(mesh: MeshContext, client: str) -> list[str]:
    proxy = mesh.proxy(client)
    assert proxy is not None
    ctx = ProxyContext.of(mesh, proxy, identity=None, features=Features())
    assignment: ClusterLoadAssignment = get(build_resources(ctx), types.ENDPOINT, "backend")
    heaviest = max(assignment.endpoints, key=lambda group: group.load_balancing_weight.value)
    return [e.endpoint.address.socket_address.address for e in heaviest.lb_endpoints]


def test_clients_on_different_nodes_each_favour_the_instance_on_their_own_node() -> None:
    mesh = MeshContext("default")
    mesh.put(Resource("Mesh", "", "default", {}))
    for resource in (
        on_node(dataplane("web-1", "web", "http", 8080, "backend"), "node-1", "10.0.0.1"),
        on_node(dataplane("web-2", "web", "http", 8080, "backend"), "node-2", "10.0.0.2"),
        on_node(dataplane("backend-1", "backend", "http", 8081), "node-1", "10.0.0.11"),
        on_node(dataplane("backend-2", "backend", "http", 8081), "node-2", "10.0.0.12"),
        Resource("MeshLoadBalancingStrategy", "default", "same-node", SAME_NODE_FIRST),
    ):
        mesh.put(resource)
    # Same policies, same outbound: only their node tells their endpoints apart.
    assert heaviest_locality_addresses(mesh, "web-1") == ["10.0.0.11"]
    assert heaviest_locality_addresses(mesh, "web-2") == ["10.0.0.12"]


@pytest.mark.parametrize(("threshold", "factor"), [(50, 200), (70, 143), (100, 100), (25, 400)])
def test_the_failover_threshold_is_where_envoy_starts_the_next_priority(
    threshold: int, factor: int
) -> None:
    assert overprovisioning_factor(Decimal(threshold)) == factor


def test_a_multizone_service_entry_configures_that_multizone_service_only() -> None:
    mesh = MeshContext("default")
    mesh.put(dataplane("web-1", "web", "http", 8080, "flight-control"))
    entry = {"kind": "MeshMultiZoneService", "name": "flight-control"}
    spec = {"to": [{"targetRef": entry, "default": {"loadBalancer": {"type": "Random"}}}]}
    mesh.put(Resource("MeshLoadBalancingStrategy", "default", "random", spec))
    policies = mesh.policies_of("MeshLoadBalancingStrategy", Spec)
    proxy = mesh.proxy("web-1")
    assert proxy is not None
    assert to_conf(policies, proxy, "flight-control", "MeshMultiZoneService").conf is not None
    assert to_conf(policies, proxy, "flight-control").conf is None  # the MeshService
