"""What every outbound gets so that losing instances fails no request (FACTS.md, measured).

A request to an instance that is gone (refused, reset) is retried on another host, and with
`previous_priorities` on another priority once this one is exhausted: the first local
instance to die costs no request, and when the last local one dies the retry lands in
another zone (priority 1, through its ingress). Outlier detection then ejects the dead
instance so new requests stop trying it, until EDS drops it. TCP outbounds retry the
connection. Envoy lets only 3 retries be in flight per cluster by default: when the last
local instance dies under load, every request in flight needs its retry at once, and those
past 3 fail at once without a try in the other zone (`upstream_rq_retry_overflow`). So
every request a cluster may carry may be retrying. A retry budget (a share of the active
requests) would not do: a request waiting out its back-off is not active, and when every
try fails at connect, the budget shrinks to its minimum just when the retries are needed.
Policies (MeshRetry, MeshCircuitBreaker) may replace these defaults.
"""

from __future__ import annotations

from envoy.config.cluster.v3.circuit_breaker_pb2 import CircuitBreakers
from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.cluster.v3.outlier_detection_pb2 import OutlierDetection
from envoy.config.route.v3.route_components_pb2 import HeaderMatcher, RetryPolicy
from envoy.config.route.v3.route_pb2 import RouteConfiguration
from envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2 import TcpProxy
from envoy.extensions.retry.host.previous_hosts.v3.previous_hosts_pb2 import (
    PreviousHostsPredicate,
)
from envoy.extensions.retry.priority.previous_priorities.v3.previous_priorities_config_pb2 import (
    PreviousPrioritiesConfig,
)

from meshfabric.xds.envoy import build as envoy

# Failures of a gone instance, never an application's answer. `reset` includes a connection
# the dying instance closed after the request went out (as Kuma's default MeshRetry does).
# `retriable-headers` with UPSTREAM_TIME inverted: an answer the instance's sidecar made up
# itself (its application is gone: "503 upstream connect error") lacks the header the sidecar
# adds to every answer it relays from its application; an application's own 503 is not retried.
RETRY_ON = "connect-failure,refused-stream,reset,retriable-headers"
UPSTREAM_TIME = "x-envoy-upstream-service-time"
RETRIES = 3
CONNECT_ATTEMPTS = 3
PRIORITY_UPDATE_FREQUENCY = 2  # as Envoy's docs suggest: priorities change after 2 attempts
MAX_RETRIES = 1024  # Envoy's default limit of a cluster's requests in flight (max_requests)


def harden_cluster(cluster: Cluster) -> None:
    cluster.outlier_detection.CopyFrom(_OUTLIER_DETECTION)
    cluster.circuit_breakers.thresholds.add().CopyFrom(_THRESHOLDS)


def retry_policy() -> RetryPolicy:
    policy = RetryPolicy(
        retry_on=RETRY_ON,
        num_retries={"value": RETRIES},
        retriable_headers=[
            HeaderMatcher(name=UPSTREAM_TIME, present_match=True, invert_match=True)
        ],
    )
    policy.retry_priority.name = "envoy.retry_priorities.previous_priorities"
    policy.retry_priority.typed_config.Pack(
        PreviousPrioritiesConfig(update_frequency=PRIORITY_UPDATE_FREQUENCY)
    )
    policy.retry_host_predicate.add(
        name="envoy.retry_host_predicates.previous_hosts",
        typed_config=envoy.pack(PreviousHostsPredicate()),
    )
    policy.host_selection_retry_max_attempts = 3
    return policy


def harden_routes(route_config: RouteConfiguration) -> None:
    for virtual_host in route_config.virtual_hosts:
        for route in virtual_host.routes:
            route.route.retry_policy.CopyFrom(_RETRY_POLICY)


# Built once and copied into every outbound: there is one per outbound, and building them
# field by field costs several times the copy.
_OUTLIER_DETECTION = OutlierDetection(
    consecutive_gateway_failure={"value": 3},
    enforcing_consecutive_gateway_failure={"value": 100},
    consecutive_local_origin_failure={"value": 3},
    enforcing_consecutive_local_origin_failure={"value": 100},
    split_external_local_origin_errors=True,
    interval=envoy.seconds(1),
    base_ejection_time=envoy.seconds(10),
    max_ejection_percent={"value": 100},
)
_RETRY_POLICY = retry_policy()
_THRESHOLDS = CircuitBreakers.Thresholds(max_retries={"value": MAX_RETRIES})


def harden_tcp(tcp: TcpProxy) -> None:
    tcp.max_connect_attempts.value = CONNECT_ATTEMPTS
