"""A mesh that requires zoneEgress: sidecars reach other zones only through their zone's
egress, and the egress's own config, generated from a zone's mesh context."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.endpoint.v3.endpoint_pb2 import ClusterLoadAssignment
from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.extensions.transport_sockets.tls.v3.tls_pb2 import (
    DownstreamTlsContext,
    UpstreamTlsContext,
)

from meshfabric.ca.builtin import WorkloadCertificate
from meshfabric.ca.identities import Identity
from meshfabric.dataplane_api.node import Features
from meshfabric.resources import Resource
from meshfabric.xds.envoy import names, types
from meshfabric.xds.generate import egress
from meshfabric.xds.generate.profile import build_resources
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.proxy import Outbound
from meshfabric.xds.model.proxy_context import ProxyContext
from tests.unit.policies.generation import dataplane, get
from tests.unit.xds.test_cross_zone import (
    SERVICE,
    encoded_clusters,
    endpoints,
    flight_control,
    synced,
    zone_ingress,
)

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
    clusters = encoded_clusters(resources)
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


# -- MeshExternalServices ------------------------------------------------------------------

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
CERTIFICATE = WorkloadCertificate(b"cert", b"key", EPOCH, EPOCH)
EGRESS_CERT = Identity("default", frozenset({"zone-egress"}), CERTIFICATE, b"ca", EPOCH)


def external(name: str = "httpbin", address: str = "10.10.1.20", **spec: Any) -> Resource:
    body = {
        "match": {"type": "HostnameGenerator", "port": 80, "protocol": "http"},
        "endpoints": [{"address": address, "port": 8000}],
        **spec,
    }
    return Resource("MeshExternalService", "default", name, body)


def client_cluster(mesh: MeshContext, name: str = "httpbin") -> Cluster:
    mesh.put(
        Resource(
            "Dataplane",
            "default",
            "web-1",
            {
                "networking": {
                    "address": "10.10.1.14",
                    "inbound": [{"port": 20001, "tags": {"kuma.io/service": "web"}}],
                    "outbound": [
                        {"port": 18081, "backendRef": {"kind": "MeshExternalService", "name": name}}
                    ],
                }
            },
        )
    )
    proxy = mesh.proxy("web-1")
    assert proxy is not None
    identity = Identity("default", proxy.services, CERTIFICATE, b"ca", EPOCH)
    ctx = ProxyContext.of(mesh, proxy, identity=identity, features=Features())
    found = get(build_resources(ctx), types.CLUSTER, f"{name}_mextsvc")
    assert isinstance(found, Cluster)
    return found


def test_an_external_service_is_reached_through_the_egress_over_mtls_naming_it() -> None:
    mesh = mesh_requiring_egress(zone_egress(), external())
    assert endpoints(mesh, "httpbin_mextsvc") == [("10.10.1.12", 10002, 0)]
    tls = UpstreamTlsContext()
    cluster = client_cluster(mesh)
    cluster.transport_socket.typed_config.Unpack(tls)
    assert tls.sni == "httpbin.extsvc{mesh=default}"
    validation = tls.common_tls_context.combined_validation_context.default_validation_context
    sans = [m.matcher.exact for m in validation.match_typed_subject_alt_names]
    assert sans == ["spiffe://default/zone-egress"]


def test_with_no_egress_an_external_service_has_no_endpoint() -> None:
    assert endpoints(mesh_requiring_egress(external()), "httpbin_mextsvc") == []


def test_without_zone_egress_the_sidecar_dials_the_external_service_itself_in_clear() -> None:
    mesh = mesh_requiring_egress(zone_egress(), external(), required=False)
    assert endpoints(mesh, "httpbin_mextsvc") == [("10.10.1.20", 8000, 0)]
    assert not client_cluster(mesh).HasField("transport_socket")


def test_an_external_service_asking_for_tls_is_not_served_and_the_log_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mesh = mesh_requiring_egress(zone_egress(), external(tls={"enabled": True}))
    assert endpoints(mesh, "httpbin_mextsvc") == []
    assert "MeshExternalService httpbin skipped" in caplog.text


def test_the_egress_terminates_mtls_for_an_external_service_and_dials_its_endpoints() -> None:
    mesh = mesh_requiring_egress(
        zone_egress(), external(), external("search", "search.example.com")
    )
    resources = egress.build_resources(mesh, mesh.egresses["egress"], EGRESS_CERT)
    listener = resources.get(types.LISTENER, names.egress_listener("10.10.1.12", 10002))
    assert isinstance(listener, Listener)
    chains = {chain.filter_chain_match.server_names[0]: chain for chain in listener.filter_chains}
    assert sorted(chains) == [
        "flight-control{mesh=default}",
        "httpbin.extsvc{mesh=default}",
        "search.extsvc{mesh=default}",
    ]
    assert not chains["flight-control{mesh=default}"].HasField("transport_socket")
    tls = DownstreamTlsContext()
    chains["httpbin.extsvc{mesh=default}"].transport_socket.typed_config.Unpack(tls)
    assert tls.require_client_certificate.value
    clusters = resources.of_type(types.CLUSTER)
    by_ip, by_name = clusters["egress:extsvc:httpbin"], clusters["egress:extsvc:search"]
    assert isinstance(by_ip, Cluster) and isinstance(by_name, Cluster)
    assert (by_ip.type, by_name.type) == (Cluster.STATIC, Cluster.STRICT_DNS)
    host = by_name.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address
    assert (host.address, host.port_value) == ("search.example.com", 8000)
    assert sorted(resources.of_type(types.SECRET)) == ["identity_cert:secret:default"]


def test_an_egress_without_a_certificate_carries_no_external_service() -> None:
    mesh = mesh_requiring_egress(zone_egress(), external())
    resources = egress.build_resources(mesh, mesh.egresses["egress"], None)
    assert "egress:extsvc:httpbin" not in resources.of_type(types.CLUSTER)


def test_an_external_service_is_called_by_its_hostname_at_its_vip() -> None:
    with_vip = dataclasses.replace(external(), status={"vips": [{"ip": "242.0.0.1"}]})
    generator = Resource(
        "HostnameGenerator",
        "",
        "local-mesh-external-service",
        {
            "selector": {"meshExternalService": {"matchLabels": {}}},
            "template": "{{ .DisplayName }}.extsvc.mesh.local",
        },
    )
    mesh = mesh_requiring_egress(zone_egress(), with_vip, generator)
    assert mesh.dns_records()["httpbin.extsvc.mesh.local"] == "242.0.0.1"
    proxy = mesh.proxy("flight-control-1")
    assert proxy is not None
    assert Outbound("242.0.0.1", 80, "httpbin", "httpbin_mextsvc") in mesh.outbounds(proxy, True)
    assert mesh.outbounds(proxy, False) == proxy.outbounds
