"""MeshMultiZoneService: one service made of the MeshServices of several zones."""

from __future__ import annotations

from typing import get_args

from meshfabric.resources.common import LabelSelector, Protocol, Strict
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import KdsFlow, ResourceType, Scope
from meshfabric.resources.names import NameRule
from meshfabric.resources.types.meshservice import ServicePort


class Selector(Strict):
    meshService: LabelSelector = LabelSelector()


class Port(ServicePort):
    # Checked with the spec, so that the reason lists what Kuma lists.
    appProtocol: str = "tcp"


_PROTOCOLS = sorted(get_args(Protocol))


class Spec(Strict):
    # Left out, they are empty, as Kuma decodes them, and refused for being empty.
    selector: Selector = Selector()
    ports: list[Port] = []


def _check(spec: Spec) -> list[Violation]:
    violations = []
    if not spec.selector.meshService.matchLabels:
        violations.append(Violation("selector.meshService.matchLabels", "cannot be empty"))
    if not spec.ports:
        violations.append(Violation("ports", "cannot be empty"))
    for index, port in enumerate(spec.ports):
        if port.name == "":
            violations.append(Violation(f"ports[{index}].name", "must not be empty"))
        if port.appProtocol not in _PROTOCOLS:
            reason = f"appProtocol must be one of: {', '.join(_PROTOCOLS)}"
            violations.append(Violation(f"ports[{index}].appProtocol", reason))
    return violations


TYPE = ResourceType(
    name="MeshMultiZoneService",
    plural="meshmultizoneservices",
    scope=Scope.MESH,
    apply_order=60,
    short_name="mzsvc",
    schema=Spec,
    kds=KdsFlow.GLOBAL_TO_ZONE,
    semantic_checks=(_check,),
    name_rule=NameRule.DISPLAY_LABEL,  # part of its hostnames
)
