"""A zone's ingress: other zones' sidecars reach this zone's services through it.

One listener, with the TLS inspector, and one filter chain per service that has a ready
instance here, matched on the SNI the calling sidecar sets (`<service>{mesh=<mesh>}`, the
SNI of every mesh cluster). Each chain is a TCP proxy to an EDS cluster of the service's
local instances. No transport socket anywhere: the caller's mTLS session goes through to the
instance's sidecar untouched, so the ingress never holds a decrypted byte and the instance
sees the caller's own certificate. The config grows by one chain, one cluster and one
load assignment per local service, and never with the services of other zones.
"""

from __future__ import annotations

from meshfabric.resources import Parsed
from meshfabric.resources.types.zoneingress import ZoneIngressFields
from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.context import MeshContext

TLS = "tls"


def generate_snapshot(mesh: MeshContext, ingress: Parsed[ZoneIngressFields]) -> Snapshot:
    return Snapshot.of(build_resources(mesh, ingress).encode())


def build_resources(mesh: MeshContext, ingress: Parsed[ZoneIngressFields]) -> ResourceSet:
    networking = ingress.fields.networking
    address = (networking and networking.address) or "0.0.0.0"
    port = int(networking.port) if networking else 0
    resources = ResourceSet()
    chains = []
    for service in local_services(mesh):
        cluster = names.ingress_cluster(service)
        resources.add(cluster, envoy.eds_cluster(cluster))
        resources.add_shared(_load_assignment(mesh, service))
        chains.append(
            envoy.filter_chain(
                [envoy.tcp_proxy(cluster, cluster)],
                transport_protocol=TLS,
                server_names=[names.sni(service, mesh.name)],
            )
        )
    if chains:  # Envoy refuses a listener without a filter chain
        name = names.ingress_listener(address, port)
        resources.add(name, envoy.listener(name, address, port, chains, inspect_tls=True))
    return resources


def local_services(mesh: MeshContext) -> list[str]:
    """The services with an inbound in this zone (Dataplanes never leave their zone)."""
    found: set[str] = set()
    for name in mesh.dataplanes:
        proxy = mesh.proxy(name)
        if proxy is not None:
            found.update(inbound.service for inbound in proxy.inbounds)
    return sorted(found)


def _load_assignment(mesh: MeshContext, service: str) -> XdsResource:
    cluster = names.ingress_cluster(service)

    def build() -> XdsResource:
        local = mesh.endpoints(names.service_cluster(service))
        endpoints = [(e.address, e.port) for e in local if e.priority == 0]
        return XdsResource.encode(cluster, envoy.load_assignment(cluster, endpoints))

    return mesh.derived_from_endpoints(("ingress_load_assignment", service), build)
