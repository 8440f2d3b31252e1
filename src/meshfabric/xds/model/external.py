"""MeshExternalServices: destinations outside the mesh, one cluster each.

When the mesh requires zoneEgress, a sidecar reaches one only through its zone's egress: the
cluster's endpoints are the egresses, over mTLS with an SNI that names the external service
(`<name>.extsvc{mesh=<mesh>}`), and the egress, whose certificate proves the identity
`zone-egress`, terminates that mTLS and opens the connection to the service's endpoints.
Otherwise the sidecar dials the service's endpoints itself (IP addresses only: EDS carries no
hostnames), without TLS. A service that asks for TLS towards itself (`tls.enabled`) is not
served yet: the log says so, and it has no cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from meshfabric.resources import Parsed
from meshfabric.resources.common import is_ip
from meshfabric.resources.types.meshexternalservice import Spec
from meshfabric.xds.envoy import names
from meshfabric.xds.model.crosszone import LocalEgress
from meshfabric.xds.model.destinations import Destination
from meshfabric.xds.model.endpoint import Endpoint
from meshfabric.xds.model.proxy import Protocol

log = logging.getLogger(__name__)

KIND = "MeshExternalService"
# What an egress's certificate proves, and what a sidecar checks towards it.
EGRESS_IDENTITY = "zone-egress"


@dataclass(frozen=True)
class ExternalService:
    name: str
    port: int
    protocol: Protocol
    endpoints: tuple[tuple[str, int, int], ...]  # address, port, priority

    @property
    def cluster(self) -> str:
        return names.external_service_cluster(self.name)

    @property
    def routed_as(self) -> str:
        """The service the SNI towards the egress names."""
        return f"{self.name}.extsvc"

    @classmethod
    def of(cls, parsed: Parsed[Spec]) -> ExternalService:
        spec = parsed.fields
        endpoints = tuple(
            (endpoint.address, int(endpoint.port), endpoint.priority or 0)
            for endpoint in spec.endpoints or []
        )
        protocol = Protocol.of({"kuma.io/protocol": spec.match.protocol})
        return cls(parsed.name, int(spec.match.port), protocol, endpoints)


def external_services(services: Iterable[Parsed[Spec]]) -> list[ExternalService]:
    """The MeshExternalServices this version can reach (not the TLS ones yet)."""
    found = []
    for service in services:
        if service.fields.tls is not None and service.fields.tls.enabled:
            log.warning(
                "MeshExternalService %s skipped: TLS towards an external service "
                "(tls.enabled) is not supported yet",
                service.name,
            )
            continue
        found.append(ExternalService.of(service))
    return found


def external_destinations(
    services: Iterable[ExternalService], egresses: tuple[LocalEgress, ...] | None
) -> tuple[dict[str, Destination], dict[str, list[Endpoint]]]:
    """Each service's destination and endpoints: through `egresses` when the mesh requires
    them (None when it does not; none registered: no endpoint at all)."""
    destinations: dict[str, Destination] = {}
    endpoints: dict[str, list[Endpoint]] = {}
    for service in services:
        if egresses is None:
            # No identity to check: a destination outside the mesh, reached without mTLS.
            destination = Destination(service.name, service.cluster, service.protocol, (), "", KIND)
            found = [
                Endpoint(address, port, service.name, priority)
                for address, port, priority in service.endpoints
                if is_ip(address)
            ]
        else:
            destination = Destination(
                service.name,
                service.cluster,
                service.protocol,
                (EGRESS_IDENTITY,),
                service.routed_as,
                KIND,
            )
            found = [Endpoint(egress.address, egress.port, egress.name) for egress in egresses]
        destinations[service.cluster] = destination
        endpoints[service.cluster] = found
    return destinations, endpoints
