"""MeshTimeout, MeshRetry, MeshHealthCheck and MeshCircuitBreaker in the generated config."""

from __future__ import annotations

from typing import Any

from envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2 import TcpProxy
from envoy.extensions.retry.priority.previous_priorities.v3.previous_priorities_config_pb2 import (
    PreviousPrioritiesConfig,
)
from envoy.extensions.upstreams.http.v3.http_protocol_options_pb2 import HttpProtocolOptions

from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names, types
from meshfabric.xds.generate import failover
from tests.unit.policies.generation import cluster, dataplane, generate, get, policy, route

WEB = dataplane("web-1", "web", "http", 8080, "backend", "db")
BACKEND = dataplane("backend-1", "backend", "http", 8081)
DB = dataplane("db-1", "db", "tcp", 5432)
SERVICES = (WEB, BACKEND, DB)


def to(service: str | None, conf: dict[str, Any]) -> dict[str, Any]:
    ref = {"kind": "MeshService", "name": service} if service else {"kind": "Mesh"}
    return {"targetRef": {"kind": "Mesh"}, "to": [{"targetRef": ref, "default": conf}]}


def test_timeouts_on_http_and_tcp_outbounds() -> None:
    timeouts = policy(
        "MeshTimeout",
        "timeouts",
        to(
            None,
            {"connectionTimeout": "2s", "idleTimeout": "30s", "http": {"requestTimeout": "1500ms"}},
        ),
    )
    resources, ctx = generate("web-1", *SERVICES, timeouts)
    assert cluster(resources, "backend").connect_timeout.ToMilliseconds() == 2000
    assert route(resources, names.outbound_route("backend")).timeout.ToMilliseconds() == 1500
    options = HttpProtocolOptions()
    cluster(resources, "backend").typed_extension_protocol_options[envoy.HTTP_OPTIONS].Unpack(
        options
    )
    assert options.common_http_protocol_options.idle_timeout.seconds == 30
    tcp = TcpProxy()
    db_listener = get(resources, types.LISTENER, names.outbound_listener("127.0.0.1", 10001))
    db_listener.filter_chains[0].filters[-1].typed_config.Unpack(tcp)
    assert tcp.idle_timeout.seconds == 30
    assert ctx.matched["MeshTimeout"] == ["timeouts"]


def test_a_service_entry_overrides_the_mesh_entry_field_by_field() -> None:
    mesh_wide = policy(
        "MeshTimeout", "a", to(None, {"connectionTimeout": "2s", "http": {"requestTimeout": "1s"}})
    )
    backend = policy("MeshTimeout", "b", to("backend", {"http": {"requestTimeout": "9s"}}))
    resources, _ = generate("web-1", *SERVICES, backend, mesh_wide)
    assert route(resources, names.outbound_route("backend")).timeout.seconds == 9
    assert cluster(resources, "backend").connect_timeout.seconds == 2


def test_retries_on_http_routes_and_tcp_connects() -> None:
    retries = policy(
        "MeshRetry",
        "retries",
        to(
            None,
            {
                "http": {"numRetries": 3, "retryOn": ["5xx", "503", "HttpMethodGet"]},
                "tcp": {"maxConnectAttempt": 4},
            },
        ),
    )
    resources, _ = generate("web-1", *SERVICES, retries)
    retry = route(resources, names.outbound_route("backend")).retry_policy
    assert retry.num_retries.value == 3
    assert retry.retry_on == "5xx,retriable-status-codes"
    assert list(retry.retriable_status_codes) == [503]
    assert retry.retriable_request_headers[0].name == ":method"
    tcp = TcpProxy()
    db_listener = get(resources, types.LISTENER, names.outbound_listener("127.0.0.1", 10001))
    db_listener.filter_chains[0].filters[-1].typed_config.Unpack(tcp)
    assert tcp.max_connect_attempts.value == 4


def test_health_checks_by_protocol_with_kuma_defaults() -> None:
    checks = policy(
        "MeshHealthCheck", "hc", to(None, {"interval": "5s", "http": {"path": "/ready"}})
    )
    resources, _ = generate("web-1", *SERVICES, checks)
    [http] = cluster(resources, "backend").health_checks
    assert http.http_health_check.path == "/ready"
    assert http.interval.seconds == 5
    assert http.timeout.seconds == 15
    [tcp] = cluster(resources, "db").health_checks
    assert tcp.HasField("tcp_health_check")


def test_circuit_breakers_outbound_and_inbound() -> None:
    limits = {"connectionLimits": {"maxConnections": 7}}
    detection = {"outlierDetection": {"detectors": {"totalFailures": {"consecutive": 3}}}}
    breaker = policy(
        "MeshCircuitBreaker",
        "cb",
        {
            "targetRef": {"kind": "Mesh"},
            "to": [{"targetRef": {"kind": "Mesh"}, "default": {**limits, **detection}}],
            "from": [{"targetRef": {"kind": "Mesh"}, "default": limits}],
        },
    )
    resources, _ = generate("web-1", *SERVICES, breaker)
    backend = cluster(resources, "backend")
    assert backend.circuit_breakers.thresholds[0].max_connections.value == 7
    assert backend.outlier_detection.consecutive_5xx.value == 3
    assert backend.outlier_detection.enforcing_consecutive_5xx.value == 100
    assert backend.outlier_detection.enforcing_success_rate.value == 0
    local = cluster(resources, names.local_cluster(9080))
    assert local.circuit_breakers.thresholds[0].max_connections.value == 7


def test_every_outbound_may_retry_as_many_requests_at_once_as_it_may_carry() -> None:
    resources, _ = generate("web-1", *SERVICES)
    [threshold] = cluster(resources, "backend").circuit_breakers.thresholds
    assert threshold.max_retries.value == failover.MAX_RETRIES == 1024
    assert not threshold.HasField("max_requests")  # Envoy's default: 1024 too
    assert not threshold.HasField("retry_budget")


def test_max_retries_of_a_circuit_breaker_replaces_the_default_limit() -> None:
    spec = to("backend", {"connectionLimits": {"maxRetries": 5, "maxRequests": 9}})
    resources, _ = generate("web-1", *SERVICES, policy("MeshCircuitBreaker", "cb", spec))
    [threshold] = cluster(resources, "backend").circuit_breakers.thresholds
    assert (threshold.max_retries.value, threshold.max_requests.value) == (5, 9)
    [default] = cluster(resources, "db").circuit_breakers.thresholds
    assert default.max_retries.value == failover.MAX_RETRIES


def test_outlier_detection_disabled_removes_the_default_one_too() -> None:
    spec = to("backend", {"outlierDetection": {"disabled": True}})
    resources, _ = generate("web-1", *SERVICES, policy("MeshCircuitBreaker", "cb", spec))
    assert not cluster(resources, "backend").HasField("outlier_detection")
    assert cluster(resources, "db").HasField("outlier_detection")  # the default, untouched


def test_retries_omit_previous_hosts_and_priorities_as_the_policy_says() -> None:
    selection = [
        {"predicate": "OmitPreviousPriorities", "updateFrequency": 1},
        {"predicate": "OmitPreviousHosts"},
    ]
    conf = {"http": {"numRetries": 3, "retryOn": ["Reset"], "hostSelection": selection}}
    resources, _ = generate("web-1", *SERVICES, policy("MeshRetry", "retries", to(None, conf)))
    retry = route(resources, names.outbound_route("backend")).retry_policy
    assert retry.retry_priority.name == "envoy.retry_priorities.previous_priorities"
    priorities = PreviousPrioritiesConfig()
    retry.retry_priority.typed_config.Unpack(priorities)
    assert priorities.update_frequency == 1
    assert [p.name for p in retry.retry_host_predicate] == [
        "envoy.retry_host_predicates.previous_hosts"
    ]


def test_policies_for_other_proxies_leave_the_config_alone() -> None:
    spec = to(None, {"http": {"numRetries": 1}})
    only_db = policy(
        "MeshRetry", "db-only", {**spec, "targetRef": {"kind": "MeshService", "name": "db"}}
    )
    resources, ctx = generate("web-1", *SERVICES, only_db)
    # The route keeps the failover defaults every outbound gets.
    assert route(resources, names.outbound_route("backend")).retry_policy == failover.retry_policy()
    assert "MeshRetry" not in ctx.matched
