"""Translate MeshRetry `to` entries into Envoy retry policies on the outbound routes (HTTP,
gRPC) or connect attempts of the TCP proxy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envoy.config.route.v3.route_components_pb2 import HeaderMatcher, RetryPolicy
from envoy.config.route.v3.route_pb2 import RouteConfiguration
from envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2 import TcpProxy
from envoy.extensions.retry.host.previous_hosts.v3.previous_hosts_pb2 import (
    PreviousHostsPredicate,
)
from envoy.type.matcher.v3.string_pb2 import StringMatcher

from meshfabric.policies.meshretry.api import TYPE
from meshfabric.policies.targets import OutboundTraffic, outbound_confs
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy.build import duration
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy import Protocol
from meshfabric.xds.model.proxy_context import ProxyContext

POLICY_TYPE = TYPE.name

# Kuma's names for Envoy's retry conditions.
HTTP_CONDITIONS = {
    "5xx": "5xx",
    "GatewayError": "gateway-error",
    "Reset": "reset",
    "Retriable4xx": "retriable-4xx",
    "ConnectFailure": "connect-failure",
    "EnvoyRatelimited": "envoy-ratelimited",
    "RefusedStream": "refused-stream",
    "Http3PostConnectFailure": "http3-post-connect-failure",
}
GRPC_CONDITIONS = {
    "Canceled": "cancelled",
    "DeadlineExceeded": "deadline-exceeded",
    "Internal": "internal",
    "ResourceExhausted": "resource-exhausted",
    "Unavailable": "unavailable",
}
# What Kuma retries when a policy names no conditions.
DEFAULT_HTTP_RETRY_ON = ("5xx", "GatewayError", "Reset", "Retriable4xx", "ConnectFailure")
DEFAULT_GRPC_RETRY_ON = tuple(GRPC_CONDITIONS)
_METHOD_PREFIX = "HttpMethod"


class MeshRetryPlugin:
    policy_type = POLICY_TYPE
    order = 300

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        for out, conf in outbound_confs(POLICY_TYPE, resources, ctx):
            if conf:
                configure(out, conf, out.destination.protocol)


def configure(out: OutboundTraffic, conf: Mapping[str, Any], protocol: Protocol) -> None:
    if out.route is None:
        attempts = (conf.get("tcp") or {}).get("maxConnectAttempt")
        if attempts:

            def set_attempts(tcp: TcpProxy) -> None:
                tcp.max_connect_attempts.value = int(attempts)

            envoy.edit_filters(out.listener, envoy.TCP_PROXY_FILTER, TcpProxy, set_attempts)
        return
    grpc = protocol is Protocol.GRPC
    retries = conf.get("grpc" if grpc else "http")
    if retries:
        _set_on_routes(out.route, retry_policy(retries, grpc))


def retry_policy(conf: Mapping[str, Any], grpc: bool) -> RetryPolicy:
    names = GRPC_CONDITIONS if grpc else HTTP_CONDITIONS
    default = DEFAULT_GRPC_RETRY_ON if grpc else DEFAULT_HTTP_RETRY_ON
    wanted = [str(item) for item in conf.get("retryOn") or default]
    policy = RetryPolicy()
    conditions = [names[item] for item in wanted if item in names]
    statuses = [int(item) for item in wanted if item.isdigit()]
    if statuses:
        conditions.append("retriable-status-codes")
        policy.retriable_status_codes.extend(statuses)
    methods = [
        item.removeprefix(_METHOD_PREFIX).upper()
        for item in wanted
        if item.startswith(_METHOD_PREFIX)
    ]
    if methods:
        policy.retriable_request_headers.append(
            HeaderMatcher(
                name=":method",
                string_match=StringMatcher(safe_regex={"regex": "|".join(methods)}),
            )
        )
    policy.retry_on = ",".join(conditions)
    if "numRetries" in conf:
        policy.num_retries.value = int(conf["numRetries"])
    if "perTryTimeout" in conf:
        policy.per_try_timeout.CopyFrom(duration(conf["perTryTimeout"]))
    back_off = conf.get("backOff") or {}
    if "baseInterval" in back_off:
        policy.retry_back_off.base_interval.CopyFrom(duration(back_off["baseInterval"]))
    if "maxInterval" in back_off:
        policy.retry_back_off.max_interval.CopyFrom(duration(back_off["maxInterval"]))
    if any(p.get("predicate") == "OmitPreviousHosts" for p in conf.get("hostSelection") or []):
        policy.retry_host_predicate.add(
            name="envoy.retry_host_predicates.previous_hosts",
            typed_config=envoy.pack(PreviousHostsPredicate()),
        )
    return policy


def _set_on_routes(route_config: RouteConfiguration, policy: RetryPolicy) -> None:
    for virtual_host in route_config.virtual_hosts:
        for route in virtual_host.routes:
            route.route.retry_policy.CopyFrom(policy)


PLUGIN = MeshRetryPlugin()
