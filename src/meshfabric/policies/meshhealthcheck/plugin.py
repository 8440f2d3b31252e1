"""Translate MeshHealthCheck `to` entries into health checks on the outbound clusters.

HTTP services are checked over HTTP unless that is disabled, then over TCP; the checks go
through the cluster's mTLS like real traffic. Kuma's defaults fill what a policy leaves out.
"""

from __future__ import annotations

import base64
from typing import TypeVar

from envoy.config.core.v3.base_pb2 import HeaderValue, HeaderValueOption
from envoy.config.core.v3.health_check_pb2 import HealthCheck
from envoy.type.v3.range_pb2 import Int64Range

from meshfabric.policies.meshhealthcheck.api import (
    TYPE,
    Conf,
    HeadersToAdd,
    HttpCheck,
    Spec,
    TcpCheck,
)
from meshfabric.policies.targets import outbound_confs
from meshfabric.xds.envoy.build import duration
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext

T = TypeVar("T")

POLICY_TYPE = TYPE.name
# Kuma's defaults for what a policy leaves out.
DEFAULT_INTERVAL = "1m"
DEFAULT_TIMEOUT = "15s"
DEFAULT_UNHEALTHY_THRESHOLD = 5
DEFAULT_HEALTHY_THRESHOLD = 1


class MeshHealthCheckPlugin:
    policy_type = POLICY_TYPE
    order = 400

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        for out, conf in outbound_confs(POLICY_TYPE, Spec, resources, ctx):
            http = out.destination.protocol.is_http
            out.cluster.health_checks.append(health_check(conf, http))


def health_check(conf: Conf, http_service: bool) -> HealthCheck:
    check = HealthCheck(
        unhealthy_threshold={"value": _or(conf.unhealthyThreshold, DEFAULT_UNHEALTHY_THRESHOLD)},
        healthy_threshold={"value": _or(conf.healthyThreshold, DEFAULT_HEALTHY_THRESHOLD)},
    )
    check.interval.CopyFrom(duration(_or(conf.interval, DEFAULT_INTERVAL)))
    check.timeout.CopyFrom(duration(_or(conf.timeout, DEFAULT_TIMEOUT)))
    for value, envoy_field in (
        (conf.initialJitter, check.initial_jitter),
        (conf.intervalJitter, check.interval_jitter),
        (conf.noTrafficInterval, check.no_traffic_interval),
    ):
        if value is not None:
            envoy_field.CopyFrom(duration(value))
    if conf.intervalJitterPercent is not None:
        check.interval_jitter_percent = conf.intervalJitterPercent
    if conf.eventLogPath is not None:
        check.event_log_path = conf.eventLogPath
    if conf.alwaysLogHealthCheckFailures is not None:
        check.always_log_health_check_failures = conf.alwaysLogHealthCheckFailures
    if conf.reuseConnection is not None:
        check.reuse_connection.value = conf.reuseConnection
    http = conf.http or HttpCheck()
    if http_service and not http.disabled:
        check.http_health_check.CopyFrom(_http_check(http))
    else:
        check.tcp_health_check.CopyFrom(_tcp_check(conf.tcp or TcpCheck()))
    return check


def _or(value: T | None, default: T) -> T:
    """A field the policy set, else Kuma's default (a field set to null counts as left out)."""
    return default if value is None else value


def _http_check(http: HttpCheck) -> HealthCheck.HttpHealthCheck:
    check = HealthCheck.HttpHealthCheck(path=http.path or "/")
    for status in http.expectedStatuses or []:
        check.expected_statuses.append(Int64Range(start=status, end=status + 1))
    headers = http.requestHeadersToAdd or HeadersToAdd()
    for added, append in (
        (headers.add, HeaderValueOption.APPEND_IF_EXISTS_OR_ADD),
        (headers.set, HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD),
    ):
        for header in added or []:
            check.request_headers_to_add.append(
                HeaderValueOption(
                    header=HeaderValue(key=header.name, value=header.value),
                    append_action=append,
                )
            )
    return check


def _tcp_check(tcp: TcpCheck) -> HealthCheck.TcpHealthCheck:
    """Kuma gives the payloads base64 encoded; Envoy wants them as hex."""
    check = HealthCheck.TcpHealthCheck()
    if tcp.send:
        check.send.text = base64.b64decode(tcp.send).hex()
    for expected in tcp.receive or []:
        check.receive.add(text=base64.b64decode(expected).hex())
    return check


PLUGIN = MeshHealthCheckPlugin()
