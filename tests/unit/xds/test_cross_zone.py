"""Endpoints in other zones and the ingress config, generated from a zone's mesh context."""

from __future__ import annotations

from typing import Any

import pytest
from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.endpoint.v3.endpoint_pb2 import ClusterLoadAssignment
from envoy.config.listener.v3.listener_pb2 import Listener

from meshfabric.resources import Resource
from meshfabric.xds.envoy import names, types
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.generate import ingress
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.proxy import Outbound
from tests.unit.policies.generation import dataplane

SERVICE = "flight-control"


def synced(resource: Resource, zone: str) -> Resource:
    """As it arrives over KDS from another zone."""
    labels = {"kuma.io/origin": "zone", "kuma.io/zone": zone, "kuma.io/display-name": SERVICE}
    return Resource(resource.type, resource.mesh, f"{resource.name}-{zone}", resource.spec, labels)


def flight_control() -> Resource:
    spec = {
        "selector": {"dataplaneTags": {"kuma.io/service": SERVICE}},
        "ports": [{"port": 8080, "targetPort": 8080, "appProtocol": "http"}],
    }
    return Resource("MeshService", "default", SERVICE, spec)


def zone_ingress(name: str, address: str = "10.10.2.11", **networking: Any) -> Resource:
    fields = {"address": address, "port": 10001, "advertisedAddress": address}
    return Resource(
        "ZoneIngress", "", name, {"networking": {**fields, "advertisedPort": 10001, **networking}}
    )


def mesh_with(*resources: Resource) -> MeshContext:
    mesh = MeshContext("default")
    mesh.put(Resource("Mesh", "", "default", {}))
    for resource in resources:
        mesh.put(resource)
    return mesh


def endpoints(mesh: MeshContext, cluster: str = SERVICE) -> list[tuple[str, int, int]]:
    return [(e.address, e.port, e.priority) for e in mesh.endpoints(cluster)]


def encoded_clusters(resources: ResourceSet) -> dict[str, Cluster]:
    """The clusters as sent, those a zone proxy shares across regenerations included."""
    found = (r for r in resources.encode() if r.type_url == types.CLUSTER)
    return {r.name: Cluster.FromString(r.value) for r in found}


def test_another_zones_service_is_reached_through_each_of_its_ingresses_at_priority_1() -> None:
    mesh = mesh_with(
        dataplane("flight-control-1", SERVICE, "http", 8080),
        # Two MeshServices of eu-west-1 naming the service: still one endpoint per ingress.
        synced(flight_control(), "eu-west-1"),
        synced(Resource("MeshService", "default", "fc-2", flight_control().spec), "eu-west-1"),
        synced(zone_ingress("ingress-a"), "eu-west-1"),
        synced(zone_ingress("ingress-b", "10.10.2.21"), "eu-west-1"),
    )
    assert endpoints(mesh) == [
        ("10.0.0.1", 8080, 0),
        ("10.10.2.11", 10001, 1),
        ("10.10.2.21", 10001, 1),
    ]


def test_a_zone_without_a_usable_ingress_is_skipped_and_the_log_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mesh = mesh_with(
        dataplane("flight-control-1", SERVICE, "http", 8080),
        synced(flight_control(), "eu-west-1"),  # no ingress in eu-west-1
        synced(flight_control(), "ap-south-1"),
        synced(zone_ingress("ingress", advertisedAddress="", advertisedPort=0), "ap-south-1"),
        synced(flight_control(), "sa-east-1"),
        synced(zone_ingress("ingress", advertisedAddress="0.0.0.0"), "sa-east-1"),
        zone_ingress("own-ingress"),  # this zone's own: never an endpoint here
    )
    assert endpoints(mesh) == [("10.0.0.1", 8080, 0)]
    assert "MeshService flight-control-eu-west-1 of zone eu-west-1 skipped" in caplog.text
    assert (
        "ZoneIngress ingress-ap-south-1 of zone ap-south-1 skipped: it has no advertised "
        "address and port"
    ) in caplog.text
    assert (
        "ZoneIngress ingress-sa-east-1 of zone sa-east-1 skipped: it advertises 0.0.0.0, "
        "which no other zone can dial"
    ) in caplog.text


def test_a_local_mesh_service_of_the_service_gets_the_remote_endpoints_too() -> None:
    mesh = mesh_with(
        flight_control(),
        dataplane("flight-control-1", SERVICE, "http", 8080),
        synced(flight_control(), "eu-west-1"),
        synced(zone_ingress("ingress"), "eu-west-1"),
    )
    cluster = names.mesh_service_cluster(SERVICE, 8080)
    assert endpoints(mesh, cluster) == [("10.0.0.1", 8080, 0), ("10.10.2.11", 10001, 1)]


def test_the_ingress_passes_each_local_service_through_by_sni_without_decrypting() -> None:
    own = zone_ingress("ingress", "10.10.1.11")
    mesh = mesh_with(
        own,
        dataplane("flight-control-1", SERVICE, "http", 8080),
        dataplane("booking-1", "booking", "http", 7000),
        synced(flight_control(), "eu-west-1"),
        synced(zone_ingress("ingress"), "eu-west-1"),
    )
    resources = ingress.build_resources(mesh, mesh.ingresses["ingress"])
    listener = resources.get(types.LISTENER, names.ingress_listener("10.10.1.11", 10001))
    assert isinstance(listener, Listener)
    assert [f.name for f in listener.listener_filters] == ["envoy.filters.listener.tls_inspector"]
    matches = [list(chain.filter_chain_match.server_names) for chain in listener.filter_chains]
    assert matches == [["booking{mesh=default}"], [f"{SERVICE}{{mesh=default}}"]]
    assert not any(chain.HasField("transport_socket") for chain in listener.filter_chains)
    clusters = encoded_clusters(resources)
    assert sorted(clusters) == ["ingress:booking", f"ingress:{SERVICE}"]
    assert not any(c.HasField("transport_socket") for c in clusters.values())
    encoded = {r.name: r for r in resources.encode() if r.type_url == types.ENDPOINT}
    assignment = ClusterLoadAssignment.FromString(encoded[f"ingress:{SERVICE}"].body.value)
    hosts = [e.endpoint.address.socket_address for e in assignment.endpoints[0].lb_endpoints]
    assert [(h.address, h.port_value) for h in hosts] == [("10.0.0.1", 8080)]  # local only


def ingress_hosts(mesh: MeshContext, service: str) -> list[tuple[str, int]]:
    snapshot = ingress.generate_snapshot(mesh, mesh.ingresses["ingress"])
    found = snapshot.of_type(types.ENDPOINT)[names.ingress_cluster(service)]
    assignment = ClusterLoadAssignment.FromString(found.value)
    hosts = [e.endpoint.address.socket_address for e in assignment.endpoints[0].lb_endpoints]
    return [(h.address, h.port_value) for h in hosts]


def test_the_ingress_follows_its_local_instances_as_they_move_and_stop_being_ready() -> None:
    mesh = mesh_with(zone_ingress("ingress", "10.10.1.11"), dataplane("fc-1", SERVICE, "http", 80))
    assert ingress_hosts(mesh, SERVICE) == [("10.0.0.1", 80)]
    mesh.put(dataplane("fc-1", SERVICE, "http", 81))
    mesh.put(dataplane("fc-2", SERVICE, "http", 82))
    assert ingress_hosts(mesh, SERVICE) == [("10.0.0.1", 81), ("10.0.0.1", 82)]
    not_ready = dataplane("fc-2", SERVICE, "http", 82)
    not_ready.spec["networking"]["inbound"][0]["health"] = {"ready": False}
    mesh.put(not_ready)
    assert ingress_hosts(mesh, SERVICE) == [("10.0.0.1", 81)]
    mesh.put(dataplane("fc-1", SERVICE, "http", 80))  # back where it was
    assert ingress_hosts(mesh, SERVICE) == [("10.0.0.1", 80)]


def multizone(vip: str = "243.0.0.1") -> Resource:
    spec = {
        "selector": {"meshService": {"matchLabels": {"kuma.io/display-name": SERVICE}}},
        "ports": [{"port": 8080, "appProtocol": "http"}],
    }
    labels = {"kuma.io/origin": "global"}
    return Resource(
        "MeshMultiZoneService", "default", SERVICE, spec, labels, status={"vips": [{"ip": vip}]}
    )


def test_a_service_synced_from_another_zone_is_reached_only_through_that_zones_ingress() -> None:
    mesh = mesh_with(
        flight_control(),
        dataplane("flight-control-1", SERVICE, "http", 8080),
        synced(flight_control(), "eu-west-1"),
        synced(zone_ingress("ingress"), "eu-west-1"),
        synced(flight_control(), "ap-south-1"),
        synced(zone_ingress("ingress", "10.10.3.11"), "ap-south-1"),
    )
    cluster = names.mesh_service_cluster(f"{SERVICE}-eu-west-1", 8080)
    assert endpoints(mesh, cluster) == [("10.10.2.11", 10001, 1)]
    outbound = Outbound("241.0.0.2", 8080, f"{SERVICE}-eu-west-1", cluster)
    destination = mesh.destination(outbound)
    # The SNI names the service the ingress routes on, not the synced resource's name.
    assert (destination.sni_service, destination.identities) == (SERVICE, (SERVICE,))


def test_a_multizone_service_is_the_local_instances_first_then_the_other_zones_ingresses() -> None:
    mesh = mesh_with(
        flight_control(),
        dataplane("flight-control-1", SERVICE, "http", 8080),
        dataplane("booking-1", "booking", "http", 7000),
        synced(flight_control(), "eu-west-1"),
        synced(zone_ingress("ingress"), "eu-west-1"),
        synced(Resource("MeshService", "default", "other", flight_control().spec), "eu-west-1"),
        multizone(),
    )
    cluster = names.multizone_service_cluster(SERVICE, 8080)
    # Two MeshServices of eu-west-1 are selected: still one endpoint for its ingress.
    assert endpoints(mesh, cluster) == [("10.0.0.1", 8080, 0), ("10.10.2.11", 10001, 1)]
    destination = mesh.destination(Outbound("243.0.0.1", 8080, SERVICE, cluster))
    assert (destination.sni_service, destination.protocol.value) == (SERVICE, "http")
    client = mesh.proxy("booking-1")
    assert client is not None
    assert Outbound("243.0.0.1", 8080, SERVICE, cluster) in mesh.outbounds(client, vips=True)
    # The local instance feeds the multizone cluster: its changes reach the callers' endpoints.
    server = mesh.proxy("flight-control-1")
    assert server is not None and cluster in mesh.served_clusters(server)


def test_a_mesh_service_made_in_this_zone_is_local_though_it_carries_its_zone_label() -> None:
    mesh = MeshContext("default", zone="us-east-1")
    made_here = {"kuma.io/origin": "zone", "kuma.io/zone": "us-east-1"}
    for resource in (
        Resource("Mesh", "", "default", {}),
        Resource("MeshService", "default", SERVICE, flight_control().spec, made_here),
        dataplane("flight-control-1", SERVICE, "http", 8080),
        synced(flight_control(), "eu-west-1"),
        synced(zone_ingress("ingress"), "eu-west-1"),
        multizone(),
    ):
        mesh.put(resource)
    local = names.mesh_service_cluster(SERVICE, 8080)
    assert endpoints(mesh, local) == [("10.0.0.1", 8080, 0), ("10.10.2.11", 10001, 1)]
    everywhere = names.multizone_service_cluster(SERVICE, 8080)
    assert endpoints(mesh, everywhere) == [("10.0.0.1", 8080, 0), ("10.10.2.11", 10001, 1)]
