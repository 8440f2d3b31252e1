"""Translate MeshHealthCheck `to` entries into health checks on the outbound clusters.

HTTP services are checked over HTTP unless that is disabled, then over TCP; the checks go
through the cluster's mTLS like real traffic. Kuma's defaults fill what a policy leaves out.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from envoy.config.core.v3.base_pb2 import HeaderValue, HeaderValueOption
from envoy.config.core.v3.health_check_pb2 import HealthCheck
from envoy.type.v3.range_pb2 import Int64Range

from meshfabric.policies.meshhealthcheck.api import TYPE
from meshfabric.policies.targets import outbound_confs
from meshfabric.xds.envoy.build import duration
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext

POLICY_TYPE = TYPE.name
DEFAULTS = {"interval": "1m", "timeout": "15s", "unhealthyThreshold": 5, "healthyThreshold": 1}
_DURATIONS = {
    "interval": "interval",
    "timeout": "timeout",
    "initialJitter": "initial_jitter",
    "intervalJitter": "interval_jitter",
    "noTrafficInterval": "no_traffic_interval",
}


class MeshHealthCheckPlugin:
    policy_type = POLICY_TYPE
    order = 400

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        for out, conf in outbound_confs(POLICY_TYPE, resources, ctx):
            if conf:
                http = out.destination.protocol.is_http
                out.cluster.health_checks.append(health_check({**DEFAULTS, **conf}, http))


def health_check(conf: Mapping[str, Any], http_service: bool) -> HealthCheck:
    check = HealthCheck(
        unhealthy_threshold={"value": int(conf["unhealthyThreshold"])},
        healthy_threshold={"value": int(conf["healthyThreshold"])},
    )
    for field, envoy_field in _DURATIONS.items():
        if field in conf:
            getattr(check, envoy_field).CopyFrom(duration(conf[field]))
    if "intervalJitterPercent" in conf:
        check.interval_jitter_percent = int(conf["intervalJitterPercent"])
    if "eventLogPath" in conf:
        check.event_log_path = str(conf["eventLogPath"])
    if "alwaysLogHealthCheckFailures" in conf:
        check.always_log_health_check_failures = bool(conf["alwaysLogHealthCheckFailures"])
    if "reuseConnection" in conf:
        check.reuse_connection.value = bool(conf["reuseConnection"])
    http: Mapping[str, Any] = conf.get("http") or {}
    if http_service and not http.get("disabled"):
        check.http_health_check.CopyFrom(_http_check(http))
    else:
        check.tcp_health_check.CopyFrom(_tcp_check(conf.get("tcp") or {}))
    return check


def _http_check(http: Mapping[str, Any]) -> HealthCheck.HttpHealthCheck:
    check = HealthCheck.HttpHealthCheck(path=str(http.get("path") or "/"))
    for status in http.get("expectedStatuses") or []:
        check.expected_statuses.append(Int64Range(start=int(status), end=int(status) + 1))
    headers = http.get("requestHeadersToAdd") or {}
    for action, append in (
        ("add", HeaderValueOption.APPEND_IF_EXISTS_OR_ADD),
        ("set", HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD),
    ):
        for header in headers.get(action) or []:
            check.request_headers_to_add.append(
                HeaderValueOption(
                    header=HeaderValue(key=header["name"], value=header["value"]),
                    append_action=append,
                )
            )
    return check


def _tcp_check(tcp: Mapping[str, Any]) -> HealthCheck.TcpHealthCheck:
    """Kuma gives the payloads base64 encoded; Envoy wants them as hex."""
    check = HealthCheck.TcpHealthCheck()
    if tcp.get("send"):
        check.send.text = base64.b64decode(tcp["send"]).hex()
    for expected in tcp.get("receive") or []:
        check.receive.add(text=base64.b64decode(expected).hex())
    return check


PLUGIN = MeshHealthCheckPlugin()
