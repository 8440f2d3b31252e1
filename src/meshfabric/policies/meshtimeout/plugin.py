"""Translate MeshTimeout: `to` entries shape outbounds, `from` entries and rules inbounds.

connectionTimeout -> the cluster's connect timeout; idleTimeout -> the TCP proxy's idle
timeout, or the HTTP connections' idle timeout on both sides; http.requestTimeout and
http.maxStreamDuration -> the routes; http.streamIdleTimeout and requestHeadersTimeout ->
the connection manager; http.maxConnectionDuration -> the upstream connections.
"""

from __future__ import annotations

from envoy.config.route.v3.route_pb2 import RouteConfiguration
from envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2 import (  # noqa: E501
    HttpConnectionManager,
)
from envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2 import TcpProxy
from envoy.extensions.upstreams.http.v3.http_protocol_options_pb2 import HttpProtocolOptions

from meshfabric.policies.meshtimeout.api import TYPE, Conf, Http, Spec
from meshfabric.policies.targets import Traffic, inbound_confs, outbound_confs
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy.build import duration
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext

POLICY_TYPE = TYPE.name


class MeshTimeoutPlugin:
    policy_type = POLICY_TYPE
    order = 200

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        for out, conf in outbound_confs(POLICY_TYPE, Spec, resources, ctx):
            configure(out, conf)
        for into, conf in inbound_confs(POLICY_TYPE, Spec, resources, ctx):
            configure(into, conf)


def configure(traffic: Traffic, conf: Conf) -> None:
    http = conf.http or Http()
    if conf.connectionTimeout is not None:
        traffic.cluster.connect_timeout.CopyFrom(duration(conf.connectionTimeout))
    if traffic.route is None:
        if conf.idleTimeout is not None:
            idle = duration(conf.idleTimeout)
            envoy.edit_filters(
                traffic.listener,
                envoy.TCP_PROXY_FILTER,
                TcpProxy,
                lambda tcp: tcp.idle_timeout.CopyFrom(idle),
            )
        return
    envoy.edit_filters(
        traffic.listener,
        envoy.HCM_FILTER,
        HttpConnectionManager,
        lambda hcm: _connection_manager(hcm, conf, http),
    )
    envoy.edit_http_options(traffic.cluster, lambda options: _upstream(options, conf, http))
    _routes(traffic.route, http)


def _connection_manager(hcm: HttpConnectionManager, conf: Conf, http: Http) -> None:
    if conf.idleTimeout is not None:
        hcm.common_http_protocol_options.idle_timeout.CopyFrom(duration(conf.idleTimeout))
    if http.streamIdleTimeout is not None:
        hcm.stream_idle_timeout.CopyFrom(duration(http.streamIdleTimeout))
    if http.requestHeadersTimeout is not None:
        hcm.request_headers_timeout.CopyFrom(duration(http.requestHeadersTimeout))


def _upstream(options: HttpProtocolOptions, conf: Conf, http: Http) -> None:
    common = options.common_http_protocol_options
    if conf.idleTimeout is not None:
        common.idle_timeout.CopyFrom(duration(conf.idleTimeout))
    if http.maxConnectionDuration is not None:
        common.max_connection_duration.CopyFrom(duration(http.maxConnectionDuration))
    if http.maxStreamDuration is not None:
        common.max_stream_duration.CopyFrom(duration(http.maxStreamDuration))


def _routes(route_config: RouteConfiguration, http: Http) -> None:
    for virtual_host in route_config.virtual_hosts:
        for route in virtual_host.routes:
            if http.requestTimeout is not None:
                route.route.timeout.CopyFrom(duration(http.requestTimeout))
            if http.maxStreamDuration is not None:
                route.route.max_stream_duration.max_stream_duration.CopyFrom(
                    duration(http.maxStreamDuration)
                )


PLUGIN = MeshTimeoutPlugin()
