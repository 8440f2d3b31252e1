"""A zone's ingress: other zones' sidecars (or their egresses) reach this zone's services
through it.

An SNI passthrough listener (`passthrough`) with one chain per service that has an instance
here, each to an EDS cluster of the service's ready local instances. The config grows by
one chain, one cluster and one load assignment per local service, and never with the services
of other zones.

It is regenerated after every change of a Dataplane in the zone, so at 10,000 services it
must not rebuild what did not change: the local instances come from one pass over the zone's
proxies (not from the mesh's whole endpoint index), and each service's load assignment is
encoded once per set of endpoints.
"""

from __future__ import annotations

import functools

from meshfabric.resources import Parsed
from meshfabric.resources.types.zoneingress import ZoneIngressFields
from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.generate import passthrough
from meshfabric.xds.model.context import MeshContext

Endpoints = tuple[tuple[str, int], ...]


def generate_snapshot(mesh: MeshContext, ingress: Parsed[ZoneIngressFields]) -> Snapshot:
    return Snapshot.of(build_resources(mesh, ingress).encode())


def build_resources(mesh: MeshContext, ingress: Parsed[ZoneIngressFields]) -> ResourceSet:
    routes = [
        passthrough.Route(service, _load_assignment(names.ingress_cluster(service), endpoints))
        for service, endpoints in local_instances(mesh).items()
    ]
    return passthrough.build_resources(
        mesh.name, names.ingress_listener, ingress.fields.networking, routes
    )


def local_instances(mesh: MeshContext) -> dict[str, Endpoints]:
    """Each service with an inbound in this zone (Dataplanes never leave their zone), and
    where its ready inbounds listen, in the order of their Dataplanes' names (as in the
    mesh's endpoint index)."""

    def build() -> dict[str, Endpoints]:
        found: dict[str, list[tuple[str, int]]] = {}
        for name in sorted(mesh.dataplanes):
            proxy = mesh.proxy(name)
            for inbound in proxy.inbounds if proxy is not None else ():
                ready = found.setdefault(inbound.service, [])
                if inbound.ready:
                    ready.append((inbound.address, inbound.port))
        return {service: tuple(found[service]) for service in sorted(found)}

    return mesh.derived_from_endpoints("ingress_local_instances", build)


@functools.lru_cache(maxsize=1 << 16)
def _load_assignment(cluster: str, endpoints: Endpoints) -> XdsResource:
    """Shared by every regeneration (and every ingress of the mesh) while the endpoints stay."""
    return XdsResource.encode(cluster, envoy.load_assignment(cluster, endpoints))
