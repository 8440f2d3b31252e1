"""The listener a zone's ingress and egress share: routed by SNI, mTLS passed through.

One listener with the TLS inspector and one filter chain per service, matched on the SNI the
calling sidecar sets (`<service>{mesh=<mesh>}`, the SNI of every mesh cluster). Each chain is
a TCP proxy to an EDS cluster of where the service is reached from here. No transport socket
anywhere: the caller's mTLS session goes through untouched, so the proxy never holds a
decrypted byte and the instance sees the caller's own certificate.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from envoy.config.listener.v3.listener_components_pb2 import FilterChain

from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet

TLS = "tls"


@dataclass(frozen=True)
class Route:
    service: str
    load_assignment: XdsResource  # named after its cluster, shared with other proxies


class Listening(Protocol):
    """The networking of a ZoneIngress or a ZoneEgress: where it listens."""

    @property
    def address(self) -> str: ...

    @property
    def port(self) -> int: ...


def build_resources(
    mesh: str,
    listener_name: Callable[[str, int], str],
    networking: Listening | None,
    routes: Iterable[Route],
    resources: ResourceSet | None = None,
    chains: Sequence[FilterChain] = (),
) -> ResourceSet:
    """`resources` and `chains`: what the proxy has besides the passthrough routes."""
    address = (networking and networking.address) or "0.0.0.0"
    port = int(networking.port) if networking else 0
    resources = resources or ResourceSet()
    chains = list(chains)
    for route in routes:
        cluster = route.load_assignment.name
        resources.add_shared(_cluster(cluster))
        resources.add_shared(route.load_assignment)
        chains.append(_chain(mesh, route.service, cluster))
    if chains:  # Envoy refuses a listener without a filter chain
        name = listener_name(address, port)
        resources.add(name, envoy.listener(name, address, port, chains, inspect_tls=True))
    return resources


# A zone proxy's routes change one service at a time: each one's cluster and chain are built
# once and shared by every regeneration (nothing edits them once built).


@functools.lru_cache(maxsize=1 << 16)
def _cluster(name: str) -> XdsResource:
    return XdsResource.encode(name, envoy.eds_cluster(name))


@functools.lru_cache(maxsize=1 << 16)
def _chain(mesh: str, service: str, cluster: str) -> FilterChain:
    return envoy.filter_chain(
        [envoy.tcp_proxy(cluster, cluster)],
        transport_protocol=TLS,
        server_names=[names.sni(service, mesh)],
    )
