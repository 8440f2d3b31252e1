"""MeshMultiZoneService: one service made of the MeshServices of several zones."""

from __future__ import annotations

from typing import get_args

from meshfabric.resources.common import LabelSelector, Protocol, Strict
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import Affects, KdsFlow, Resource, ResourceType, Scope
from meshfabric.resources.names import NameRule
from meshfabric.resources.origin import DISPLAY_NAME_LABEL
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


def selects(spec: Spec, service: Resource) -> bool:
    """Whether a MeshService, local or synced from another zone, is one of it: its labels
    carry every label of `selector.meshService.matchLabels` (a MeshService without a
    `kuma.io/display-name` label counts as labelled with its name)."""
    wanted = spec.selector.meshService.matchLabels or {}
    labels = {DISPLAY_NAME_LABEL: service.name, **service.labels}
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


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
    affects=Affects.EVERY_PROXY,  # its VIP listeners and DNS names are on every sidecar
    schema=Spec,
    kds=KdsFlow.GLOBAL_TO_ZONE,
    semantic_checks=(_check,),
    name_rule=NameRule.DISPLAY_LABEL,  # part of its hostnames
)
