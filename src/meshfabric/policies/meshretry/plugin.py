"""Translate MeshRetry `to` entries into Envoy retry policies on the outbound routes (HTTP,
gRPC) or connect attempts of the TCP proxy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from envoy.config.route.v3.route_components_pb2 import HeaderMatcher, RetryPolicy
from envoy.config.route.v3.route_pb2 import RouteConfiguration
from envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2 import TcpProxy
from envoy.extensions.retry.host.previous_hosts.v3.previous_hosts_pb2 import (
    PreviousHostsPredicate,
)
from envoy.extensions.retry.priority.previous_priorities.v3.previous_priorities_config_pb2 import (
    PreviousPrioritiesConfig,
)
from envoy.type.matcher.v3.string_pb2 import StringMatcher

from meshfabric.policies.meshretry.api import TYPE, BackOff, Conf, Grpc, Http, Predicate, Spec
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
        for out, conf in outbound_confs(POLICY_TYPE, Spec, resources, ctx):
            configure(out, conf, out.destination.protocol)


def configure(out: OutboundTraffic, conf: Conf, protocol: Protocol) -> None:
    if out.route is None:
        attempts = conf.tcp.maxConnectAttempt if conf.tcp else None
        if attempts:
            count = attempts

            def set_attempts(tcp: TcpProxy) -> None:
                tcp.max_connect_attempts.value = count

            envoy.edit_filters(out.listener, envoy.TCP_PROXY_FILTER, TcpProxy, set_attempts)
        return
    if protocol is Protocol.GRPC:
        if conf.grpc is not None and conf.grpc.model_fields_set:
            _set_on_routes(
                out.route, retry_policy(conf.grpc, GRPC_CONDITIONS, DEFAULT_GRPC_RETRY_ON)
            )
    elif conf.http is not None and conf.http.model_fields_set:
        policy = retry_policy(conf.http, HTTP_CONDITIONS, DEFAULT_HTTP_RETRY_ON)
        for predicate in conf.http.hostSelection or []:
            _select_hosts(policy, predicate)
        _set_on_routes(out.route, policy)


def _select_hosts(policy: RetryPolicy, predicate: Predicate) -> None:
    if predicate.predicate == "OmitPreviousHosts":
        policy.retry_host_predicate.add(
            name="envoy.retry_host_predicates.previous_hosts",
            typed_config=envoy.pack(PreviousHostsPredicate()),
        )
    elif predicate.predicate == "OmitPreviousPriorities":
        # What moves a retry to the next priority (another zone) once this one failed.
        policy.retry_priority.name = "envoy.retry_priorities.previous_priorities"
        policy.retry_priority.typed_config.Pack(
            PreviousPrioritiesConfig(update_frequency=predicate.updateFrequency)
        )


def retry_policy(
    conf: Http | Grpc, names: Mapping[str, str], default: Sequence[str]
) -> RetryPolicy:
    wanted = [str(item) for item in conf.retryOn or default]
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
    if conf.numRetries is not None:
        policy.num_retries.value = conf.numRetries
    if conf.perTryTimeout is not None:
        policy.per_try_timeout.CopyFrom(duration(conf.perTryTimeout))
    back_off = conf.backOff or BackOff()
    if back_off.baseInterval is not None:
        policy.retry_back_off.base_interval.CopyFrom(duration(back_off.baseInterval))
    if back_off.maxInterval is not None:
        policy.retry_back_off.max_interval.CopyFrom(duration(back_off.maxInterval))
    return policy


def _set_on_routes(route_config: RouteConfiguration, policy: RetryPolicy) -> None:
    for virtual_host in route_config.virtual_hosts:
        for route in virtual_host.routes:
            route.route.retry_policy.CopyFrom(policy)


PLUGIN = MeshRetryPlugin()
