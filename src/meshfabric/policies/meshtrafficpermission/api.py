"""MeshTrafficPermission: which clients may reach the selected proxies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from meshfabric.resources.common import (
    FromItem,
    Match,
    RuleItem,
    Strict,
    TargetedSpec,
    TargetRefRules,
    match_violations,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import policy_type


class FromConf(Strict):
    action: Literal["Allow", "Deny", "AllowWithShadowDeny"]


class RuleConf(Strict):
    """Kuma 2.10+: clients listed by identity; deny wins over allow."""

    allow: list[Match] | None = None
    deny: list[Match] | None = None
    allowWithShadowDeny: list[Match] | None = None


class Spec(TargetedSpec):
    from_: list[FromItem[FromConf]] | None = Field(default=None, alias="from")
    rules: list[RuleItem[RuleConf]] | None = None


def _rule_matches_are_valid(spec: Spec) -> list[Violation]:
    violations: list[Violation] = []
    for index, rule in enumerate(spec.rules or []):
        if not (rule.default.allow or rule.default.deny or rule.default.allowWithShadowDeny):
            reason = "at least one of 'allow', 'allowWithShadowDeny', 'deny' has to be defined"
            violations.append(Violation(f"rules[{index}]", reason))
        for name in ("allow", "deny", "allowWithShadowDeny"):
            matches: list[Match] = getattr(rule.default, name) or []
            for position, match in enumerate(matches):
                path = f"rules[{index}].{name}[{position}]"  # Kuma's spelling: no `default`
                violations += match_violations(path, match)
    return violations


TYPE = policy_type(
    name="MeshTrafficPermission",
    plural="meshtrafficpermissions",
    short_name="mtp",
    schema=Spec,
    semantic_checks=(
        TargetRefRules(
            top=("Mesh", "MeshSubset", "MeshService", "MeshServiceSubset", "Dataplane"),
            from_=("Mesh", "MeshSubset", "MeshService", "MeshServiceSubset"),
            needs_section=True,
        ),
        _rule_matches_are_valid,
    ),
)
