"""Translate MeshCircuitBreaker: `to` entries on the outbound clusters, `from` entries and
rules on the clusters that reach the local application.

connectionLimits -> the cluster's circuit-breaker thresholds; outlierDetection -> its
outlier detection, where each detector the policy does not name is switched off (enforcing 0)
rather than left at Envoy's defaults, as Kuma does.
"""

from __future__ import annotations

from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.config.cluster.v3.outlier_detection_pb2 import OutlierDetection

from meshfabric.policies.meshcircuitbreaker import api
from meshfabric.policies.meshcircuitbreaker.api import TYPE, Conf, Spec
from meshfabric.policies.targets import inbound_confs, outbound_confs
from meshfabric.xds.envoy.build import duration
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext

POLICY_TYPE = TYPE.name


class MeshCircuitBreakerPlugin:
    policy_type = POLICY_TYPE
    order = 500

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        for out, conf in outbound_confs(POLICY_TYPE, Spec, resources, ctx):
            configure(out.cluster, conf)
        for into, conf in inbound_confs(POLICY_TYPE, Spec, resources, ctx):
            configure(into.cluster, conf)


def configure(cluster: Cluster, conf: Conf) -> None:
    limits = conf.connectionLimits
    if limits is not None and limits.model_fields_set:
        # The outbound's default threshold (its retry limit) is amended, never doubled.
        thresholds = cluster.circuit_breakers.thresholds
        threshold = thresholds[0] if thresholds else thresholds.add()
        for value, envoy_field in (
            (limits.maxConnections, threshold.max_connections),
            (limits.maxPendingRequests, threshold.max_pending_requests),
            (limits.maxRequests, threshold.max_requests),
            (limits.maxRetries, threshold.max_retries),
            (limits.maxConnectionPools, threshold.max_connection_pools),
        ):
            if value is not None:
                envoy_field.value = value
    detection = conf.outlierDetection
    if detection is not None and detection.disabled:
        cluster.ClearField("outlier_detection")  # the one every outbound has by default too
    elif detection is not None and detection.model_fields_set:
        cluster.outlier_detection.CopyFrom(outlier_detection(detection))


def outlier_detection(conf: api.OutlierDetection) -> OutlierDetection:
    detection = OutlierDetection()
    if conf.interval is not None:
        detection.interval.CopyFrom(duration(conf.interval))
    if conf.baseEjectionTime is not None:
        detection.base_ejection_time.CopyFrom(duration(conf.baseEjectionTime))
    if conf.maxEjectionPercent is not None:
        detection.max_ejection_percent.value = conf.maxEjectionPercent
    if conf.splitExternalAndLocalErrors is not None:
        detection.split_external_local_origin_errors = conf.splitExternalAndLocalErrors
    detectors = conf.detectors or api.Detectors()
    # Each consecutive-failures detector: its threshold field, the field that turns it on.
    for detector, threshold, enforcing in (
        (
            detectors.totalFailures,
            detection.consecutive_5xx,
            detection.enforcing_consecutive_5xx,
        ),
        (
            detectors.gatewayFailures,
            detection.consecutive_gateway_failure,
            detection.enforcing_consecutive_gateway_failure,
        ),
        (
            detectors.localOriginFailures,
            detection.consecutive_local_origin_failure,
            detection.enforcing_consecutive_local_origin_failure,
        ),
    ):
        enforcing.value = 100 if detector is not None else 0
        if detector is not None and detector.consecutive is not None:
            threshold.value = detector.consecutive
    _success_rate(detection, detectors.successRate)
    _failure_percentage(detection, detectors.failurePercentage)
    return detection


def _success_rate(detection: OutlierDetection, conf: api.SuccessRate | None) -> None:
    detection.enforcing_success_rate.value = 100 if conf is not None else 0
    if conf is None:
        return
    if conf.minimumHosts is not None:
        detection.success_rate_minimum_hosts.value = conf.minimumHosts
    if conf.requestVolume is not None:
        detection.success_rate_request_volume.value = conf.requestVolume
    if conf.standardDeviationFactor is not None:
        # Envoy takes the factor times 1000.
        factor = float(conf.standardDeviationFactor)
        detection.success_rate_stdev_factor.value = int(factor * 1000)


def _failure_percentage(detection: OutlierDetection, conf: api.FailurePercentage | None) -> None:
    detection.enforcing_failure_percentage.value = 100 if conf is not None else 0
    if conf is None:
        return
    if conf.minimumHosts is not None:
        detection.failure_percentage_minimum_hosts.value = conf.minimumHosts
    if conf.requestVolume is not None:
        detection.failure_percentage_request_volume.value = conf.requestVolume
    if conf.threshold is not None:
        detection.failure_percentage_threshold.value = conf.threshold


PLUGIN = MeshCircuitBreakerPlugin()
