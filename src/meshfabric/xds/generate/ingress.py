"""A zone's ingress: other zones' sidecars (or their egresses) reach this zone's services
through it.

An SNI passthrough listener (`passthrough`) with one chain per service that has a ready
instance here, each to an EDS cluster of the service's local instances. The config grows by
one chain, one cluster and one load assignment per local service, and never with the services
of other zones.
"""

from __future__ import annotations

from meshfabric.resources import Parsed
from meshfabric.resources.types.zoneingress import ZoneIngressFields
from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.generate import passthrough
from meshfabric.xds.model.context import MeshContext


def generate_snapshot(mesh: MeshContext, ingress: Parsed[ZoneIngressFields]) -> Snapshot:
    return Snapshot.of(build_resources(mesh, ingress).encode())


def build_resources(mesh: MeshContext, ingress: Parsed[ZoneIngressFields]) -> ResourceSet:
    routes = [
        passthrough.Route(service, _load_assignment(mesh, service))
        for service in local_services(mesh)
    ]
    return passthrough.build_resources(
        mesh.name, names.ingress_listener, ingress.fields.networking, routes
    )


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
