"""A zone's egress: the one way out of the zone when its mesh requires zoneEgress.

Towards other zones, sidecars dial it instead of those zones' ingresses (`crosszone`), with
the same mTLS session and SNI they would use towards the ingress. It routes by that SNI
(`passthrough`): one chain per service other zones serve, each to an EDS cluster of the
ingresses of the zones that serve it. It terminates nothing there, so mTLS stays end to end,
from the calling sidecar to the instance's.

Towards a MeshExternalService (`external`), it is the mesh's last hop: one chain per service,
matched on the SNI naming it, terminates the sidecar's mTLS (the egress proves `zone-egress`,
and accepts any certificate of the mesh), and a TCP proxy opens the connection to the
service's own endpoints, in a cluster that resolves hostnames itself.
"""

from __future__ import annotations

from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.listener.v3.listener_components_pb2 import FilterChain

from meshfabric.ca import spiffe_id
from meshfabric.ca.identities import Identity
from meshfabric.resources import Parsed
from meshfabric.resources.common import is_ip
from meshfabric.resources.types.zoneegress import ZoneEgressFields
from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.generate import passthrough, secrets
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.external import ExternalService


def generate_snapshot(
    mesh: MeshContext, egress: Parsed[ZoneEgressFields], identity: Identity | None
) -> Snapshot:
    return Snapshot.of(build_resources(mesh, egress, identity).encode())


def build_resources(
    mesh: MeshContext, egress: Parsed[ZoneEgressFields], identity: Identity | None = None
) -> ResourceSet:
    """`identity`: the egress's certificate, None when the mesh has no mTLS (then it reaches
    no MeshExternalService)."""
    routes = [
        passthrough.Route(service, _load_assignment(mesh, service))
        for service in sorted(mesh.remote_services())
    ]
    resources = ResourceSet()
    chains = []
    if identity is not None:
        secrets.add(mesh, identity, resources)
        for service in mesh.external_services():
            resources.add(names.egress_external_cluster(service.name), _external_cluster(service))
            chains.append(_external_chain(mesh.name, service))
    return passthrough.build_resources(
        mesh.name, names.egress_listener, egress.fields.networking, routes, resources, chains
    )


def _load_assignment(mesh: MeshContext, service: str) -> XdsResource:
    cluster = names.egress_cluster(service)

    def build() -> XdsResource:
        ingresses = mesh.remote_services()[service].ingresses
        endpoints = [(ingress.address, ingress.port) for ingress in ingresses]
        return XdsResource.encode(cluster, envoy.load_assignment(cluster, endpoints))

    return mesh.derived_from_endpoints(("egress_load_assignment", service), build)


def _external_chain(mesh: str, service: ExternalService) -> FilterChain:
    cluster = names.egress_external_cluster(service.name)
    return envoy.filter_chain(
        [envoy.tcp_proxy(cluster, cluster)],
        transport_socket=envoy.downstream_mtls(
            names.identity_secret(mesh), names.ca_secret(mesh), spiffe_id(mesh, "")
        ),
        transport_protocol=passthrough.TLS,
        server_names=[names.sni(service.routed_as, mesh)],
    )


def _external_cluster(service: ExternalService) -> Cluster:
    """The service's endpoints in the cluster itself: hostnames are resolved by Envoy."""
    name = names.egress_external_cluster(service.name)
    cluster = Cluster(name=name, connect_timeout=envoy.seconds(5))
    resolved = all(is_ip(address) for address, _, _ in service.endpoints)
    cluster.type = Cluster.STATIC if resolved else Cluster.STRICT_DNS
    cluster.load_assignment.CopyFrom(
        envoy.prioritized_load_assignment(name, list(service.endpoints))
    )
    return cluster
