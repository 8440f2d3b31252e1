"""Schema building blocks: strict models, durations, targetRef and the policy shapes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from meshfabric.resources.errors import Violation


class Strict(BaseModel):
    """Unknown fields are errors: a typo must not be silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)


_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$|^0$")


def _check_duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f'"{value}" is not a duration (examples: 500ms, 10s, 1m30s)')
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
Name = Annotated[
    str, Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$")
]
Port = Annotated[int, Field(ge=1, le=65535)]
Percentage = Annotated[int | str, Field(union_mode="left_to_right")]
Labels = dict[str, str]

TargetRefKind = Literal[
    "Mesh",
    "MeshSubset",
    "MeshGateway",
    "MeshService",
    "MeshServiceSubset",
    "MeshExternalService",
    "MeshMultiZoneService",
    "MeshHTTPRoute",
    "Dataplane",
]


class TargetRef(Strict):
    kind: TargetRefKind
    name: str | None = None
    namespace: str | None = None
    mesh: str | None = None
    labels: Labels | None = None
    tags: Labels | None = None
    sectionName: str | None = None
    proxyTypes: list[Literal["Sidecar", "Gateway"]] | None = None


Conf = TypeVar("Conf", bound=BaseModel)


class FromItem(Strict, Generic[Conf]):
    targetRef: TargetRef
    default: Conf


class ToItem(Strict, Generic[Conf]):
    targetRef: TargetRef
    default: Conf


class RuleItem(Strict, Generic[Conf]):
    default: Conf


class PolicySpec(Strict, Generic[Conf]):
    """targetRef selects the proxies; from/to/rules carry the configuration they get."""

    targetRef: TargetRef | None = None
    from_: list[FromItem[Conf]] | None = Field(default=None, alias="from")
    to: list[ToItem[Conf]] | None = None
    rules: list[RuleItem[Conf]] | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)


class SingleConfPolicySpec(Strict, Generic[Conf]):
    """Policies that configure the selected proxies as a whole (MeshMetric, MeshTrace)."""

    targetRef: TargetRef | None = None
    default: Conf


def target_ref_kinds(
    top: Iterable[str],
    from_: Iterable[str] = (),
    to: Iterable[str] = (),
    sections: Sequence[Literal["from", "to", "rules"]] = ("from", "to", "rules"),
) -> Any:
    """A semantic check: which targetRef kinds a policy accepts where, and which sections."""
    allowed = {"targetRef": tuple(top), "from": tuple(from_), "to": tuple(to)}

    def check(spec: Any) -> list[Violation]:
        violations = []
        if spec.targetRef is not None and spec.targetRef.kind not in allowed["targetRef"]:
            violations.append(_kind_violation("targetRef.kind", allowed["targetRef"]))
        present = {
            "from": getattr(spec, "from_", None),
            "to": getattr(spec, "to", None),
            "rules": getattr(spec, "rules", None),
        }
        for section, items in present.items():
            if items is None:
                continue
            if section not in sections:
                violations.append(Violation(section, "is not supported by this policy"))
                continue
            if section == "rules":
                continue
            for index, item in enumerate(items):
                if item.targetRef.kind not in allowed[section]:
                    path = f"{section}[{index}].targetRef.kind"
                    violations.append(_kind_violation(path, allowed[section]))
        if all(items is None or items == [] for items in present.values()) and sections:
            wanted = " or ".join(sections)
            violations.append(Violation(sections[0], f"at least one of {wanted} must be defined"))
        return violations

    return check


def _kind_violation(path: str, kinds: Sequence[str]) -> Violation:
    return Violation(path, f"value is not supported, must be one of {', '.join(kinds)}")
