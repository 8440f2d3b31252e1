"""Translate MeshCircuitBreaker: `to` entries on the outbound clusters, `from` entries and
rules on the clusters that reach the local application.

connectionLimits -> the cluster's circuit-breaker thresholds; outlierDetection -> its
outlier detection, where each detector the policy does not name is switched off (enforcing 0)
rather than left at Envoy's defaults, as Kuma does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envoy.config.cluster.v3.circuit_breaker_pb2 import CircuitBreakers
from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.cluster.v3.outlier_detection_pb2 import OutlierDetection

from meshfabric.policies.meshcircuitbreaker.api import TYPE
from meshfabric.policies.targets import inbound_confs, outbound_confs
from meshfabric.xds.envoy.build import duration
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext

POLICY_TYPE = TYPE.name
_LIMITS = {
    "maxConnections": "max_connections",
    "maxPendingRequests": "max_pending_requests",
    "maxRequests": "max_requests",
    "maxRetries": "max_retries",
    "maxConnectionPools": "max_connection_pools",
}
# detector -> (its threshold field, the field that turns it on)
_CONSECUTIVE = {
    "totalFailures": ("consecutive_5xx", "enforcing_consecutive_5xx"),
    "gatewayFailures": ("consecutive_gateway_failure", "enforcing_consecutive_gateway_failure"),
    "localOriginFailures": (
        "consecutive_local_origin_failure",
        "enforcing_consecutive_local_origin_failure",
    ),
}


class MeshCircuitBreakerPlugin:
    policy_type = POLICY_TYPE
    order = 500

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        for out, conf in outbound_confs(POLICY_TYPE, resources, ctx):
            configure(out.cluster, conf)
        for into, conf in inbound_confs(POLICY_TYPE, resources, ctx):
            configure(into.cluster, conf)


def configure(cluster: Cluster, conf: Mapping[str, Any]) -> None:
    limits: Mapping[str, Any] = conf.get("connectionLimits") or {}
    if limits:
        threshold = CircuitBreakers.Thresholds()
        for field, envoy_field in _LIMITS.items():
            if field in limits:
                getattr(threshold, envoy_field).value = int(limits[field])
        cluster.circuit_breakers.thresholds.append(threshold)
    detection: Mapping[str, Any] = conf.get("outlierDetection") or {}
    if detection and not detection.get("disabled"):
        cluster.outlier_detection.CopyFrom(outlier_detection(detection))


def outlier_detection(conf: Mapping[str, Any]) -> OutlierDetection:
    detection = OutlierDetection()
    for field, envoy_field in (
        ("interval", "interval"),
        ("baseEjectionTime", "base_ejection_time"),
    ):
        if field in conf:
            getattr(detection, envoy_field).CopyFrom(duration(conf[field]))
    if "maxEjectionPercent" in conf:
        detection.max_ejection_percent.value = int(conf["maxEjectionPercent"])
    if "splitExternalAndLocalErrors" in conf:
        detection.split_external_local_origin_errors = bool(conf["splitExternalAndLocalErrors"])
    detectors: Mapping[str, Any] = conf.get("detectors") or {}
    for name, (threshold_field, enforcing_field) in _CONSECUTIVE.items():
        detector = detectors.get(name)
        getattr(detection, enforcing_field).value = 100 if detector is not None else 0
        if detector and "consecutive" in detector:
            getattr(detection, threshold_field).value = int(detector["consecutive"])
    _success_rate(detection, detectors.get("successRate"))
    _failure_percentage(detection, detectors.get("failurePercentage"))
    return detection


def _success_rate(detection: OutlierDetection, conf: Mapping[str, Any] | None) -> None:
    detection.enforcing_success_rate.value = 100 if conf is not None else 0
    if not conf:
        return
    if "minimumHosts" in conf:
        detection.success_rate_minimum_hosts.value = int(conf["minimumHosts"])
    if "requestVolume" in conf:
        detection.success_rate_request_volume.value = int(conf["requestVolume"])
    if "standardDeviationFactor" in conf:
        # Envoy takes the factor times 1000.
        factor = float(conf["standardDeviationFactor"])
        detection.success_rate_stdev_factor.value = int(factor * 1000)


def _failure_percentage(detection: OutlierDetection, conf: Mapping[str, Any] | None) -> None:
    detection.enforcing_failure_percentage.value = 100 if conf is not None else 0
    if not conf:
        return
    if "minimumHosts" in conf:
        detection.failure_percentage_minimum_hosts.value = int(conf["minimumHosts"])
    if "requestVolume" in conf:
        detection.failure_percentage_request_volume.value = int(conf["requestVolume"])
    if "threshold" in conf:
        detection.failure_percentage_threshold.value = int(conf["threshold"])


PLUGIN = MeshCircuitBreakerPlugin()
