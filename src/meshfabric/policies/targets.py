"""The generated resources a policy edits, found by name per inbound and outbound."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.config.route.v3.route_pb2 import RouteConfiguration

from meshfabric.policies.core import Conf, InboundSpec, OutboundSpec, from_conf, to_conf
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names, types
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.destinations import Destination
from meshfabric.xds.model.proxy import Inbound, Outbound
from meshfabric.xds.model.proxy_context import ProxyContext

OTLP_GRPC_PORT = 4317


@dataclass(frozen=True)
class Traffic:
    """One direction of traffic: its listener, the cluster it goes to, and HTTP routes."""

    listener: Listener
    cluster: Cluster
    route: RouteConfiguration | None  # None for TCP


@dataclass(frozen=True)
class OutboundTraffic(Traffic):
    outbound: Outbound
    destination: Destination


@dataclass(frozen=True)
class InboundTraffic(Traffic):
    inbound: Inbound


def outbounds(resources: ResourceSet, ctx: ProxyContext) -> Iterator[OutboundTraffic]:
    for outbound in ctx.outbounds:
        listener = resources.get(
            types.LISTENER, names.outbound_listener(outbound.address, outbound.port)
        )
        cluster = resources.get(types.CLUSTER, outbound.cluster)
        route = resources.get(types.ROUTE, names.outbound_route(outbound.cluster))
        if isinstance(listener, Listener) and isinstance(cluster, Cluster):
            destination = ctx.mesh.destination(outbound)
            yield OutboundTraffic(listener, cluster, _route(route), outbound, destination)


def outbound_confs(
    policy_type: str,
    schema: type[OutboundSpec[Conf]],
    resources: ResourceSet,
    ctx: ProxyContext,
) -> Iterator[tuple[OutboundTraffic, Conf]]:
    """Each outbound that the `to` entries of the policies of a type configure, with the
    configuration they merge into for it."""
    policies = ctx.mesh.policies_of(policy_type, schema)
    if not policies:
        return
    for out in outbounds(resources, ctx):
        destination = out.destination
        matched = to_conf(policies, ctx.proxy, destination.name, destination.kind)
        ctx.record_match(policy_type, list(matched.policies))
        if matched.conf is not None:
            yield out, matched.conf


def inbound_confs(
    policy_type: str,
    schema: type[InboundSpec[Conf]],
    resources: ResourceSet,
    ctx: ProxyContext,
) -> Iterator[tuple[InboundTraffic, Conf]]:
    """Each inbound that the `from` entries and rules of the policies of a type configure,
    with the configuration they merge into for it."""
    policies = ctx.mesh.policies_of(policy_type, schema)
    if not policies:
        return
    for into in inbounds(resources, ctx):
        matched = from_conf(policies, ctx.proxy, into.inbound)
        ctx.record_match(policy_type, list(matched.policies))
        if matched.conf is not None:
            yield into, matched.conf


def inbounds(resources: ResourceSet, ctx: ProxyContext) -> Iterator[InboundTraffic]:
    for inbound in ctx.proxy.inbounds:
        listener = resources.get(
            types.LISTENER, names.inbound_listener(inbound.address, inbound.port)
        )
        cluster = resources.get(types.CLUSTER, names.local_cluster(inbound.service_port))
        route = resources.get(types.ROUTE, names.inbound_route(inbound.address, inbound.port))
        if isinstance(listener, Listener) and isinstance(cluster, Cluster):
            yield InboundTraffic(listener, cluster, _route(route), inbound)


def _route(route: object) -> RouteConfiguration | None:
    return route if isinstance(route, RouteConfiguration) else None


def collector_cluster(name: str, endpoint: str) -> Cluster:
    """The gRPC cluster of an OpenTelemetry collector's `endpoint` (host:port, the port
    4317 when left out), which the observability policies' exporters use."""
    parsed = urllib.parse.urlsplit(f"//{endpoint}")
    host = parsed.hostname or endpoint
    return envoy.address_cluster(name, host, parsed.port or OTLP_GRPC_PORT, http2=True)
