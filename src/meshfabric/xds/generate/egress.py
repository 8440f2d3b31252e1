"""A zone's egress: the one way out of the zone when its mesh requires zoneEgress.

Sidecars dial it instead of other zones' ingresses (`crosszone`), with the same mTLS session
and SNI they would use towards the ingress. It routes by that SNI (`passthrough`): one chain
per service other zones serve, each to an EDS cluster of the ingresses of the zones that
serve it. It terminates nothing, so mTLS stays end to end, from the calling sidecar to the
instance's.
"""

from __future__ import annotations

from meshfabric.resources import Parsed
from meshfabric.resources.types.zoneegress import ZoneEgressFields
from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.generate import passthrough
from meshfabric.xds.model.context import MeshContext


def generate_snapshot(mesh: MeshContext, egress: Parsed[ZoneEgressFields]) -> Snapshot:
    return Snapshot.of(build_resources(mesh, egress).encode())


def build_resources(mesh: MeshContext, egress: Parsed[ZoneEgressFields]) -> ResourceSet:
    routes = [
        passthrough.Route(service, _load_assignment(mesh, service))
        for service in sorted(mesh.remote_services())
    ]
    return passthrough.build_resources(
        mesh.name, names.egress_listener, egress.fields.networking, routes
    )


def _load_assignment(mesh: MeshContext, service: str) -> XdsResource:
    cluster = names.egress_cluster(service)

    def build() -> XdsResource:
        ingresses = mesh.remote_services()[service].ingresses
        endpoints = [(ingress.address, ingress.port) for ingress in ingresses]
        return XdsResource.encode(cluster, envoy.load_assignment(cluster, endpoints))

    return mesh.derived_from_endpoints(("egress_load_assignment", service), build)
