"""A mesh that requires zoneEgress: sidecars reach other zones only through their zone's
egress, and the egress's own config, generated from a zone's mesh context."""

from __future__ import annotations

from envoy.config.endpoint.v3.endpoint_pb2 import ClusterLoadAssignment
from envoy.config.listener.v3.listener_pb2 import Listener

from meshfabric.resources import Resource
from meshfabric.xds.envoy import names, types
from meshfabric.xds.generate import egress
from meshfabric.xds.model.context import MeshContext
from tests.unit.policies.generation import dataplane
from tests.unit.xds.test_cross_zone import SERVICE, endpoints, flight_control, synced, zone_ingress

MTLS = {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]}


def zone_egress(name: str = "egress", address: str = "10.10.1.12") -> Resource:
    return Resource("ZoneEgress", "", name, {"networking": {"address": address, "port": 10002}})


def mesh_requiring_egress(*resources: Resource, required: bool = True) -> MeshContext:
    mesh = MeshContext("default")
    spec = {"mtls": MTLS, "routing": {"zoneEgress": required}}
    mesh.put(Resource("Mesh", "", "default", spec))
    for resource in (
        dataplane("flight-control-1", SERVICE, "http", 8080),
        synced(flight_control(), "eu-west-1"),
        synced(zone_ingress("ingress"), "eu-west-1"),
        *resources,
    ):
        mesh.put(resource)
    return mesh


def test_other_zones_are_reached_through_the_zone_egress_instead_of_their_ingresses() -> None:
    mesh = mesh_requiring_egress(zone_egress(), flight_control())  # by tag and MeshService
    assert endpoints(mesh) == [("10.0.0.1", 8080, 0), ("10.10.1.12", 10002, 1)]
    cluster = names.mesh_service_cluster(SERVICE, 8080)
    assert endpoints(mesh, cluster) == [("10.0.0.1", 8080, 0), ("10.10.1.12", 10002, 1)]
    assert mesh.egress_problem() is None


def test_with_no_egress_other_zones_have_no_endpoint_and_the_mesh_says_why() -> None:
    mesh = mesh_requiring_egress()
    assert endpoints(mesh) == [("10.0.0.1", 8080, 0)]  # never the ingress directly
    problem = mesh.egress_problem()
    assert problem is not None
    assert "requires zoneEgress" in problem
    assert "no ZoneEgress registered" in problem


def test_the_egress_returning_restores_the_remote_endpoints() -> None:
    mesh = mesh_requiring_egress()
    mesh.put(zone_egress())
    assert endpoints(mesh) == [("10.0.0.1", 8080, 0), ("10.10.1.12", 10002, 1)]
    mesh.remove(zone_egress().key)
    assert endpoints(mesh) == [("10.0.0.1", 8080, 0)]


def test_a_mesh_that_does_not_require_it_ignores_the_egress() -> None:
    mesh = mesh_requiring_egress(zone_egress(), required=False)
    assert endpoints(mesh) == [("10.0.0.1", 8080, 0), ("10.10.2.11", 10001, 1)]
    assert mesh.egress_problem() is None


def test_turning_zone_egress_on_moves_the_remote_endpoints_to_the_egress() -> None:
    mesh = mesh_requiring_egress(zone_egress(), required=False)
    assert endpoints(mesh)[-1] == ("10.10.2.11", 10001, 1)
    spec = {"mtls": MTLS, "routing": {"zoneEgress": True}}
    mesh.put(Resource("Mesh", "", "default", spec))
    assert endpoints(mesh)[-1] == ("10.10.1.12", 10002, 1)


def test_the_egress_passes_each_remote_service_through_by_sni_to_its_zones_ingresses() -> None:
    mesh = mesh_requiring_egress(
        zone_egress(),
        synced(Resource("MeshService", "default", "booking", _booking()), "ap-south-1"),
        synced(zone_ingress("ingress", "10.10.3.11"), "ap-south-1"),
    )
    resources = egress.build_resources(mesh, mesh.egresses["egress"])
    listener = resources.get(types.LISTENER, names.egress_listener("10.10.1.12", 10002))
    assert isinstance(listener, Listener)
    assert [f.name for f in listener.listener_filters] == ["envoy.filters.listener.tls_inspector"]
    matches = [list(chain.filter_chain_match.server_names) for chain in listener.filter_chains]
    assert matches == [["booking{mesh=default}"], [f"{SERVICE}{{mesh=default}}"]]
    assert not any(chain.HasField("transport_socket") for chain in listener.filter_chains)
    clusters = resources.of_type(types.CLUSTER)
    assert sorted(clusters) == ["egress:booking", f"egress:{SERVICE}"]
    assert not any(c.HasField("transport_socket") for c in clusters.values())
    encoded = {r.name: r for r in resources.encode() if r.type_url == types.ENDPOINT}
    assert _hosts(encoded[f"egress:{SERVICE}"].body.value) == [("10.10.2.11", 10001)]
    assert _hosts(encoded["egress:booking"].body.value) == [("10.10.3.11", 10001)]


def test_an_egress_with_no_remote_service_has_no_listener() -> None:
    mesh = MeshContext("default")
    mesh.put(zone_egress())
    assert list(egress.build_resources(mesh, mesh.egresses["egress"]).encode()) == []


def _booking() -> dict[str, object]:
    return {
        "selector": {"dataplaneTags": {"kuma.io/service": "booking"}},
        "ports": [{"port": 7000, "targetPort": 7000, "appProtocol": "http"}],
    }


def _hosts(body: bytes) -> list[tuple[str, int]]:
    assignment = ClusterLoadAssignment.FromString(body)
    found = [e.endpoint.address.socket_address for e in assignment.endpoints[0].lb_endpoints]
    return [(h.address, h.port_value) for h in found]
