"""Builders for the Envoy messages the generators combine: only Envoy structure, no policy."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.core.v3.address_pb2 import Address
from envoy.config.core.v3.base_pb2 import TransportSocket
from envoy.config.core.v3.config_source_pb2 import (
    AggregatedConfigSource,
    ApiVersion,
    ConfigSource,
)
from envoy.config.core.v3.protocol_pb2 import Http1ProtocolOptions, Http2ProtocolOptions
from envoy.config.endpoint.v3.endpoint_pb2 import ClusterLoadAssignment
from envoy.config.listener.v3.listener_components_pb2 import (
    Filter,
    FilterChain,
    FilterChainMatch,
    ListenerFilter,
)
from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.config.route.v3.route_components_pb2 import (
    Route,
    RouteMatch,
    VirtualHost,
)
from envoy.config.route.v3.route_pb2 import RouteConfiguration
from envoy.extensions.filters.http.router.v3.router_pb2 import Router
from envoy.extensions.filters.listener.tls_inspector.v3.tls_inspector_pb2 import TlsInspector
from envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2 import (  # noqa: E501
    HttpConnectionManager,
    HttpFilter,
    Rds,
)
from envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2 import TcpProxy
from envoy.extensions.transport_sockets.tls.v3.common_pb2 import (
    CertificateValidationContext,
    SubjectAltNameMatcher,
)
from envoy.extensions.transport_sockets.tls.v3.secret_pb2 import SdsSecretConfig
from envoy.extensions.transport_sockets.tls.v3.tls_pb2 import (
    CommonTlsContext,
    DownstreamTlsContext,
    UpstreamTlsContext,
)
from envoy.extensions.upstreams.http.v3.http_protocol_options_pb2 import HttpProtocolOptions
from envoy.type.matcher.v3.string_pb2 import StringMatcher
from google.protobuf import any_pb2
from google.protobuf.descriptor import Descriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message

from meshfabric.resources.common import duration_seconds, is_ip
from meshfabric.xds.envoy.resource import type_url

HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
ROUTER_FILTER = "envoy.filters.http.router"
HCM_FILTER = "envoy.filters.network.http_connection_manager"
TCP_PROXY_FILTER = "envoy.filters.network.tcp_proxy"
_ADS = ConfigSource(ads=AggregatedConfigSource(), resource_api_version=ApiVersion.V3)


def pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def duration(text: str) -> Duration:
    """A Kuma duration ("500ms", "1m30s") as a protobuf Duration."""
    value = duration_seconds(text)
    if value is None:
        raise ValueError(f'"{text}" is not a duration')
    return seconds(float(value))


M = TypeVar("M", bound=Message)


def edit_packed(packed: any_pb2.Any, message_type: type[M], edit: Callable[[M], None]) -> None:
    """Unpack a typed config, let `edit` change it, pack it back in place."""
    message = message_type()
    packed.Unpack(message)
    edit(message)
    packed.Pack(message)


def edit_filters(
    listener: Listener, name: str, message_type: type[M], edit: Callable[[M], None]
) -> None:
    """Edit the config of every network filter called `name`, in every filter chain."""
    for chain in listener.filter_chains:
        for network in chain.filters:
            if network.name == name:
                edit_packed(network.typed_config, message_type, edit)


def edit_http_options(cluster: Cluster, edit: Callable[[HttpProtocolOptions], None]) -> None:
    """Edit the cluster's upstream HTTP options, creating them (HTTP/1.1) if absent."""
    options = cluster.typed_extension_protocol_options
    if HTTP_OPTIONS not in options:
        options[HTTP_OPTIONS].Pack(
            HttpProtocolOptions(
                explicit_http_config=HttpProtocolOptions.ExplicitHttpConfig(
                    http_protocol_options=Http1ProtocolOptions()
                )
            )
        )
    edit_packed(options[HTTP_OPTIONS], HttpProtocolOptions, edit)


def socket_address(address: str, port: int) -> Address:
    result = Address()
    _set_socket_address(result, address, port)
    return result


def _set_socket_address(target: Address, address: str, port: int) -> None:
    # Read once: each read of a sub-message makes (and caches) a Python object for it.
    socket = target.socket_address
    socket.address = address
    socket.port_value = port


def seconds(value: float) -> Duration:
    duration = Duration()
    duration.FromNanoseconds(int(value * 1e9))
    return duration


# -- clusters and endpoints ----------------------------------------------------------------


def static_cluster(name: str, address: str, port: int) -> Cluster:
    return Cluster(
        name=name,
        type=Cluster.STATIC,
        connect_timeout=seconds(5),
        load_assignment=load_assignment(name, [(address, port)]),
    )


def address_cluster(name: str, host: str, port: int, http2: bool = False) -> Cluster:
    """A cluster of one address given by IP or by DNS name (resolved by Envoy), speaking
    HTTP/2 upstream when `http2` is set (as a gRPC service's does)."""
    cluster = static_cluster(name, host, port)
    if not is_ip(host):
        cluster.type = Cluster.STRICT_DNS
    if http2:
        options = HttpProtocolOptions()
        options.explicit_http_config.http2_protocol_options.CopyFrom(Http2ProtocolOptions())
        cluster.typed_extension_protocol_options[HTTP_OPTIONS].Pack(options)
    return cluster


def pipe_cluster(name: str, path: str) -> Cluster:
    """A cluster of one Unix socket (a process beside Envoy)."""
    cluster = Cluster(name=name, type=Cluster.STATIC, connect_timeout=seconds(1))
    cluster.load_assignment.cluster_name = name
    endpoint = cluster.load_assignment.endpoints.add().lb_endpoints.add().endpoint
    endpoint.address.pipe.path = path
    return cluster


# The parts every message of a kind shares, built once and copied: copying a message is
# much cheaper than building it field by field, and there is one per outbound.
_EDS_CLUSTER = Cluster(
    type=Cluster.EDS,
    connect_timeout=seconds(5),
    eds_cluster_config=Cluster.EdsClusterConfig(eds_config=_ADS),
)


def eds_cluster(
    name: str, transport_socket: TransportSocket | None = None, template: Cluster | None = None
) -> Cluster:
    """`template`: one that `eds_cluster` made and its caller edited, to start from instead."""
    cluster = Cluster()
    cluster.CopyFrom(template if template is not None else _EDS_CLUSTER)
    cluster.name = name
    if transport_socket is not None:
        cluster.transport_socket.CopyFrom(transport_socket)
    return cluster


def load_assignment(name: str, endpoints: Iterable[tuple[str, int]]) -> ClusterLoadAssignment:
    """All endpoints in one locality."""
    assignment = ClusterLoadAssignment(cluster_name=name)
    locality = assignment.endpoints.add()
    for address, port in endpoints:
        _set_socket_address(locality.lb_endpoints.add().endpoint.address, address, port)
    return assignment


_PRIORITY = operator.itemgetter(2)


def prioritized_load_assignment(
    name: str, endpoints: Iterable[tuple[str, int, int]]
) -> ClusterLoadAssignment:
    """(address, port, priority): one locality per priority, the lowest tried first; priority
    0 is always there, even empty."""
    assignment = ClusterLoadAssignment(cluster_name=name)
    localities = {0: assignment.endpoints.add()}
    for address, port, priority in sorted(endpoints, key=_PRIORITY):
        locality = localities.get(priority)
        if locality is None:
            locality = localities[priority] = assignment.endpoints.add(priority=priority)
        _set_socket_address(locality.lb_endpoints.add().endpoint.address, address, port)
    return assignment


# -- listeners -------------------------------------------------------------------------------


def listener(
    name: str, address: str, port: int, chains: Sequence[FilterChain], inspect_tls: bool = False
) -> Listener:
    result = Listener(name=name, filter_chains=chains, stat_prefix=stat_prefix(name))
    _set_socket_address(result.address, address, port)
    if inspect_tls:
        result.listener_filters.append(
            ListenerFilter(
                name="envoy.filters.listener.tls_inspector", typed_config=pack(TlsInspector())
            )
        )
    return result


def single_filter_listener(
    name: str, address: str, port: int, filter_name: str, config: Message
) -> Listener:
    """A listener of one filter chain of one network filter: what `listener` builds from a
    `filter_chain` of one `network_filter`, copied from a template of that filter and type
    (an outbound's, one per outbound)."""
    result = Listener()
    result.CopyFrom(_single_filter_template(filter_name, config.DESCRIPTOR))
    result.name = name
    result.stat_prefix = stat_prefix(name)
    _set_socket_address(result.address, address, port)
    result.filter_chains[0].filters[0].typed_config.value = config.SerializeToString()
    return result


@functools.cache
def _single_filter_template(filter_name: str, config_type: Descriptor) -> Listener:
    """Every part of a single filter listener but its name, address and the filter's config
    (`Any.Pack` with its type URL already set); copied, never handed out."""
    template = Listener()
    typed_config = template.filter_chains.add().filters.add(name=filter_name).typed_config
    typed_config.type_url = type_url(config_type)
    return template


def stat_prefix(listener_name: str) -> str:
    return listener_name.replace(":", "_")


def filter_chain(
    filters: Sequence[Filter],
    transport_socket: TransportSocket | None = None,
    transport_protocol: str = "",
    server_names: Sequence[str] = (),
) -> FilterChain:
    chain = FilterChain(filters=filters)
    if transport_socket is not None:
        chain.transport_socket.CopyFrom(transport_socket)
    if transport_protocol or server_names:
        chain.filter_chain_match.CopyFrom(
            FilterChainMatch(transport_protocol=transport_protocol, server_names=server_names)
        )
    return chain


def network_filter(name: str, config: Message) -> Filter:
    result = Filter(name=name)
    result.typed_config.Pack(config)
    return result


def http_filter(name: str, config: Message) -> HttpFilter:
    return HttpFilter(name=name, typed_config=pack(config))


_ROUTER = HttpFilter(name=ROUTER_FILTER, typed_config=pack(Router()))
# No x-request-id made up for every request (a UUID per request and hop, Envoy's default):
# only tracing and access logs read it, and MeshTrace and MeshAccessLog turn it back on
# (`want_request_id`) where they are configured. A caller's own x-request-id still passes.
_NO_REQUEST_ID = {"value": False}
_RDS_HCM = HttpConnectionManager(
    http_filters=[_ROUTER], rds=Rds(config_source=_ADS), generate_request_id=_NO_REQUEST_ID
)


def tcp_proxy(stat_prefix: str, cluster: str) -> Filter:
    return network_filter(TCP_PROXY_FILTER, TcpProxy(stat_prefix=stat_prefix, cluster=cluster))


def http_connection_manager(
    stat_prefix: str,
    route_config: RouteConfiguration | None = None,
    rds_name: str = "",
    http_filters: Sequence[HttpFilter] = (),
) -> HttpConnectionManager:
    """An HCM ending in the router; `http_filters` go before it."""
    hcm = HttpConnectionManager()
    if route_config is None and not http_filters:
        hcm.CopyFrom(_RDS_HCM)  # an outbound's: one per outbound, worth the shortcut
        hcm.stat_prefix = stat_prefix
        hcm.rds.route_config_name = rds_name
        return hcm
    hcm.stat_prefix = stat_prefix
    hcm.generate_request_id.value = False
    for each in [*http_filters, _ROUTER]:
        # Copied, not appended: appending would tie this message's memory to the shared
        # router filter's, which is never freed.
        hcm.http_filters.add().CopyFrom(each)
    if route_config is not None:
        hcm.route_config.CopyFrom(route_config)
    else:
        hcm.rds.CopyFrom(Rds(config_source=_ADS, route_config_name=rds_name))
    return hcm


def want_request_id(hcm: HttpConnectionManager) -> None:
    """Make up an x-request-id for requests that come without one (for traces and logs)."""
    hcm.generate_request_id.value = True


def route_to_cluster(
    name: str, cluster: str, template: RouteConfiguration | None = None
) -> RouteConfiguration:
    """Every request, whatever its host and path, to one cluster. `template`: one that
    `route_to_cluster` made and its caller edited, to start from instead."""
    route = RouteConfiguration()
    route.CopyFrom(template if template is not None else _ROUTE_TO_CLUSTER)
    route.name = name
    virtual_host = route.virtual_hosts[0]
    virtual_host.name = cluster
    virtual_host.routes[0].route.cluster = cluster
    return route


_ROUTE_TO_CLUSTER = RouteConfiguration(
    validate_clusters={"value": False},
    virtual_hosts=[VirtualHost(domains=["*"], routes=[Route(match=RouteMatch(prefix="/"))])],
)


# -- TLS ---------------------------------------------------------------------------------------


def sds(name: str) -> SdsSecretConfig:
    return SdsSecretConfig(name=name, sds_config=_ADS)


def _common_tls(
    certificate_secret: str, ca_secret: str, peer_sans: Sequence[StringMatcher]
) -> CommonTlsContext:
    return CommonTlsContext(
        tls_certificate_sds_secret_configs=[sds(certificate_secret)],
        combined_validation_context=CommonTlsContext.CombinedCertificateValidationContext(
            default_validation_context=CertificateValidationContext(
                match_typed_subject_alt_names=[
                    SubjectAltNameMatcher(san_type=SubjectAltNameMatcher.URI, matcher=peer_san)
                    for peer_san in peer_sans
                ]
            ),
            validation_context_sds_secret_config=sds(ca_secret),
        ),
    )


def downstream_mtls(certificate_secret: str, ca_secret: str, peer_prefix: str) -> TransportSocket:
    """Terminate mTLS: the client must present a certificate whose URI SAN has the prefix."""
    context = DownstreamTlsContext(
        common_tls_context=_common_tls(
            certificate_secret, ca_secret, [StringMatcher(prefix=peer_prefix)]
        ),
        require_client_certificate={"value": True},
    )
    return TransportSocket(name="envoy.transport_sockets.tls", typed_config=pack(context))


def upstream_mtls(
    certificate_secret: str, ca_secret: str, peer_identities: Sequence[str], sni: str
) -> TransportSocket:
    """Originate mTLS and accept only a server presenting exactly one of `peer_identities`."""
    context = UpstreamTlsContext()
    context.CopyFrom(_upstream_tls(certificate_secret, ca_secret))
    context.sni = sni
    validation = context.common_tls_context.combined_validation_context.default_validation_context
    for identity in peer_identities:
        matcher = validation.match_typed_subject_alt_names.add()
        matcher.san_type = SubjectAltNameMatcher.URI
        matcher.matcher.exact = identity
    socket = TransportSocket(name="envoy.transport_sockets.tls")
    socket.typed_config.Pack(context)
    return socket


@functools.cache
def _upstream_tls(certificate_secret: str, ca_secret: str) -> UpstreamTlsContext:
    """What every upstream TLS context of a mesh shares; copied, never handed out."""
    return UpstreamTlsContext(common_tls_context=_common_tls(certificate_secret, ca_secret, []))
