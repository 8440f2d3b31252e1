"""MeshCircuitBreaker: connection limits and outlier detection that eject failing endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from meshfabric.resources.common import (
    IntOrString,
    IntPercentage,
    Percentage,
    PolicySpec,
    PositiveDuration,
    PositiveInt,
    Strict,
    TargetRefRules,
    confs,
    decimal_of,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import policy_type


class ConnectionLimits(Strict):
    maxConnections: PositiveInt | None = None
    maxConnectionPools: PositiveInt | None = None
    maxPendingRequests: PositiveInt | None = None
    maxRetries: PositiveInt | None = None
    maxRequests: PositiveInt | None = None


class ConsecutiveFailures(Strict):
    consecutive: PositiveInt | None = None


def _check_positive_number(value: int | str) -> int | str:
    number = decimal_of(value)
    if number is None:
        raise ValueError("invalid number")
    if number <= 0:
        raise ValueError("must be greater than 0")
    return value


# Checked with the fields beside it, so that one request reports every bad number at once.
PositiveNumber = Annotated[IntOrString, AfterValidator(_check_positive_number)]


class SuccessRate(Strict):
    minimumHosts: PositiveInt | None = None
    requestVolume: PositiveInt | None = None
    # A decimal number written as a string ("1.9") or an integer.
    standardDeviationFactor: PositiveNumber | None = None


class FailurePercentage(Strict):
    minimumHosts: PositiveInt | None = None
    requestVolume: PositiveInt | None = None
    threshold: IntPercentage | None = None


class Detectors(Strict):
    totalFailures: ConsecutiveFailures | None = None
    gatewayFailures: ConsecutiveFailures | None = None
    localOriginFailures: ConsecutiveFailures | None = None
    successRate: SuccessRate | None = None
    failurePercentage: FailurePercentage | None = None


class OutlierDetection(Strict):
    disabled: bool | None = None
    interval: PositiveDuration | None = None
    baseEjectionTime: PositiveDuration | None = None
    maxEjectionPercent: IntPercentage | None = None
    splitExternalAndLocalErrors: bool | None = None
    healthyPanicThreshold: Percentage | None = None
    detectors: Detectors | None = None


class Conf(Strict):
    connectionLimits: ConnectionLimits | None = None
    outlierDetection: OutlierDetection | None = None


class Spec(PolicySpec[Conf]):
    pass


def _conf_violations(spec: Spec) -> list[Violation]:
    violations = []
    for path, _, conf in confs(spec):
        outlier = conf.outlierDetection
        if conf.connectionLimits is None and outlier is None:
            reason = (
                "at least one of: 'connectionLimits' or 'outlierDetection' should be configured"
            )
            violations.append(Violation(path, reason))
        if outlier is not None:
            violations += _detector_violations(
                f"{path}.outlierDetection.detectors", outlier.detectors
            )
    return violations


def _detector_violations(path: str, detectors: Detectors | None) -> list[Violation]:
    if detectors is None:
        return [Violation(path, "must be defined")]
    if all(getattr(detectors, name) is None for name in Detectors.model_fields):
        listed = ", ".join(Detectors.model_fields)
        return [Violation(path, f"must have at least one defined: {listed}")]
    return []


TYPE = policy_type(
    name="MeshCircuitBreaker",
    plural="meshcircuitbreakers",
    short_name="mcb",
    schema=Spec,
    semantic_checks=(
        TargetRefRules(
            top=(
                "Mesh",
                "MeshSubset",
                "MeshService",
                "MeshGateway",
                "MeshServiceSubset",
                "Dataplane",
            ),
            from_=("Mesh",),
            to=("Mesh", "MeshService", "MeshExternalService", "MeshMultiZoneService"),
            needs_section=True,
        ),
        _conf_violations,
    ),
)
