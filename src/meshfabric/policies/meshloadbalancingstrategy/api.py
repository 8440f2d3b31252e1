"""MeshLoadBalancingStrategy: how requests spread over endpoints, zones and localities."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from meshfabric.resources.common import (
    Duration,
    IntOrString,
    OutboundPolicySpec,
    Percentage,
    PositiveInt,
    Strict,
    TargetRef,
    TargetRefRules,
    confs,
    decimal_of,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import policy_type


class AffinityTag(Strict):
    key: str
    weight: PositiveInt | None = None


class LocalZone(Strict):
    affinityTags: list[AffinityTag] | None = None


class FailoverFrom(Strict):
    zones: list[str]


class FailoverTo(Strict):
    type: Literal["None", "Only", "Any", "AnyExcept"]
    zones: list[str] | None = None


class Failover(Strict):
    from_: FailoverFrom | None = Field(default=None, alias="from")
    to: FailoverTo


class FailoverThreshold(Strict):
    percentage: Percentage


class CrossZone(Strict):
    failover: list[Failover] | None = None
    failoverThreshold: FailoverThreshold | None = None


class LocalityAwareness(Strict):
    disabled: bool | None = None
    localZone: LocalZone | None = None
    crossZone: CrossZone | None = None


class HeaderHash(Strict):
    name: Annotated[str, Field(min_length=1)]


class CookieHash(Strict):
    name: Annotated[str, Field(min_length=1)]
    ttl: Duration | None = None
    path: str | None = None


class ConnectionHash(Strict):
    sourceIP: bool | None = None


class FilterStateHash(Strict):
    key: Annotated[str, Field(min_length=1)]


HashType = Literal["Header", "Cookie", "Connection", "SourceIP", "QueryParameter", "FilterState"]


class HashPolicy(Strict):
    type: HashType
    terminal: bool | None = None
    header: HeaderHash | None = None
    cookie: CookieHash | None = None
    connection: ConnectionHash | None = None
    queryParameter: HeaderHash | None = None
    filterState: FilterStateHash | None = None


class LeastRequest(Strict):
    choiceCount: Annotated[int, Field(ge=2)] | None = None
    activeRequestBias: IntOrString | None = None


class RingHash(Strict):
    hashFunction: Literal["XXHash", "MurmurHash2"] | None = None
    minRingSize: Annotated[int, Field(ge=1, le=8_000_000)] | None = None
    maxRingSize: Annotated[int, Field(ge=1, le=8_000_000)] | None = None
    hashPolicies: list[HashPolicy] | None = None


class Maglev(Strict):
    tableSize: Annotated[int, Field(ge=1, le=5_000_011)] | None = None
    hashPolicies: list[HashPolicy] | None = None


class Empty(Strict):
    pass


class LoadBalancer(Strict):
    type: Literal["RoundRobin", "LeastRequest", "RingHash", "Random", "Maglev"]
    roundRobin: Empty | None = None
    leastRequest: LeastRequest | None = None
    ringHash: RingHash | None = None
    random: Empty | None = None
    maglev: Maglev | None = None


class Conf(Strict):
    localityAwareness: LocalityAwareness | None = None
    loadBalancer: LoadBalancer | None = None
    hashPolicies: list[HashPolicy] | None = None


class Spec(OutboundPolicySpec[Conf]):
    pass


# Which block each hash policy type reads its settings from.
_HASH_BLOCK = {
    "Header": "header",
    "Cookie": "cookie",
    "QueryParameter": "queryParameter",
    "FilterState": "filterState",
    "Connection": "connection",
    "SourceIP": "connection",
}
_ROUTE_ONLY = (
    "field is not allowed when targetRef.kind is MeshHTTPRoute, only hashPolicies is supported"
)


def _conf_violations(spec: Spec) -> list[Violation]:
    top_kind = spec.targetRef.kind if spec.targetRef is not None else "Mesh"
    violations = []
    for path, item, conf in confs(spec):
        violations += _hash_violations(f"{path}.hashPolicies", conf.hashPolicies)
        balancer = conf.loadBalancer
        if top_kind == "MeshGateway" and balancer is not None and item.targetRef.kind != "Mesh":
            reason = (
                "value 'MeshGateway' is not supported, only Mesh is allowed if loadBalancer is set"
            )
            violations.append(Violation(f"{path.removesuffix('.default')}.targetRef.kind", reason))
        if item.targetRef.kind == "MeshHTTPRoute":
            for name in ("loadBalancer", "localityAwareness"):
                if getattr(conf, name) is not None:
                    violations.append(Violation(f"{path}.{name}", _ROUTE_ONLY))
            continue
        if balancer is not None:
            violations += _balancer_violations(f"{path}.loadBalancer", balancer, conf)
        if conf.localityAwareness is not None:
            violations += _locality_violations(
                f"{path}.localityAwareness", conf.localityAwareness, item.targetRef
            )
    return violations


def _hash_violations(path: str, policies: list[HashPolicy] | None) -> list[Violation]:
    violations = []
    for index, policy in enumerate(policies or []):
        block = _HASH_BLOCK[policy.type]
        if getattr(policy, block) is None:
            violations.append(Violation(f"{path}[{index}].{block}", "must be defined"))
        cookie_path = policy.cookie.path if policy.cookie and policy.type == "Cookie" else None
        if cookie_path is not None and not cookie_path.startswith("/"):
            reason = "must be an absolute path"
            violations.append(Violation(f"{path}[{index}].cookie.path", reason))
    return violations


def _balancer_violations(path: str, balancer: LoadBalancer, conf: Conf) -> list[Violation]:
    violations = []
    for name, hashing in (("ringHash", balancer.ringHash), ("maglev", balancer.maglev)):
        if hashing is None:
            continue
        violations += _hash_violations(f"{path}.{name}.hashPolicies", hashing.hashPolicies)
        if conf.hashPolicies is not None and hashing.hashPolicies is not None:
            reason = "hashPolicies already specified in the root level"
            violations.append(Violation(f"{path}.{name}.hashPolicies", reason))
    bias = balancer.leastRequest.activeRequestBias if balancer.leastRequest else None
    if bias is not None:
        number = decimal_of(bias)
        if number is None:
            violations.append(
                Violation(f"{path}.leastRequest.activeRequestBias", "string must be a valid number")
            )
        elif number < 0:
            reason = "must be greater or equal then: 0"
            violations.append(Violation(f"{path}.leastRequest.activeRequestBias", reason))
    return violations


def _locality_violations(
    path: str, locality: LocalityAwareness, target: TargetRef
) -> list[Violation]:
    violations = []
    tags = (locality.localZone.affinityTags if locality.localZone else None) or []
    weighted = sum(tag.weight is not None for tag in tags)
    if weighted not in (0, len(tags)):
        reason = "all or none affinity tags should have weight"
        violations.append(Violation(f"{path}.localZone.affinityTags", reason))
    cross = locality.crossZone
    if cross is None:
        return violations
    # A single port or a labelled set of MeshServices lives in one zone only.
    if target.kind == "MeshService" and (target.sectionName or target.labels):
        reason = "must not be set: MeshService traffic is local"
        violations.append(Violation(f"{path}.crossZone", reason))
    for index, failover in enumerate(cross.failover or []):
        item = f"{path}.crossZone.failover[{index}]"
        if failover.from_ is not None:
            if not failover.from_.zones:
                violations.append(Violation(f"{item}.from.zones", "must not be empty"))
            for zone_index, zone in enumerate(failover.from_.zones):
                if not zone:
                    violations.append(
                        Violation(f"{item}.from.zones[{zone_index}]", "must not be empty")
                    )
        kind, zones = failover.to.type, failover.to.zones
        if kind in ("Any", "None") and zones:
            violations.append(Violation(f"{item}.to.zones", f"must be empty when type is {kind}"))
        if kind in ("AnyExcept", "Only") and not zones:
            violations.append(
                Violation(f"{item}.to.zones", f"must not be empty when type is {kind}")
            )
    threshold = cross.failoverThreshold
    if threshold is not None and decimal_of(threshold.percentage) == 0:
        violations.append(
            Violation(f"{path}.crossZone.failoverThreshold.percentage", "must be greater than 0")
        )
    return violations


TYPE = policy_type(
    name="MeshLoadBalancingStrategy",
    plural="meshloadbalancingstrategies",
    short_name="mlbs",
    schema=Spec,
    semantic_checks=(
        TargetRefRules(
            top=(
                "Mesh",
                "MeshSubset",
                "MeshGateway",
                "MeshService",
                "MeshServiceSubset",
                "Dataplane",
            ),
            to=("Mesh", "MeshService", "MeshMultiZoneService", "MeshHTTPRoute"),
            to_by_top={"MeshGateway": ("Mesh", "MeshService", "MeshMultiZoneService")},
        ),
        _conf_violations,
    ),
)
