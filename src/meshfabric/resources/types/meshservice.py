"""MeshService: a named set of ports served by the dataplanes its selector picks."""

from __future__ import annotations

from typing import Literal

from meshfabric.resources.common import IntOrString, Labels, LabelSelector, Port, Strict
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import Affects, KdsFlow, ResourceType, Scope
from meshfabric.resources.names import NameRule


class DataplaneRef(Strict):
    name: str | None = None


class Selector(Strict):
    dataplaneTags: Labels | None = None
    dataplaneRef: DataplaneRef | None = None
    dataplaneLabels: LabelSelector | None = None


class ServicePort(Strict):
    """A port as clients see it; shared with MeshMultiZoneService."""

    name: str | None = None
    port: Port
    appProtocol: str = "tcp"


class MeshServicePort(ServicePort):
    # The dataplane's inbound port, by number or by inbound name.
    targetPort: IntOrString | None = None


class Identity(Strict):
    type: Literal["ServiceTag", "SpiffeID"]
    value: str


class Spec(Strict):
    selector: Selector | None = None
    ports: list[MeshServicePort] | None = None
    identities: list[Identity] | None = None
    state: Literal["Available", "Unavailable"] = "Unavailable"


def _one_selector(spec: Spec) -> list[Violation]:
    selector = spec.selector or Selector()
    chosen = (selector.dataplaneTags, selector.dataplaneRef, selector.dataplaneLabels)
    if sum(item is not None for item in chosen) > 1:
        reason = "must specify only one of: dataplaneTags, dataplaneRef, or dataplaneLabels"
        return [Violation("selector", reason)]
    return []


TYPE = ResourceType(
    name="MeshService",
    plural="meshservices",
    scope=Scope.MESH,
    apply_order=50,
    short_name="msvc",
    affects=Affects.EVERY_PROXY,
    schema=Spec,
    # Each zone publishes its own services; global passes them on to the other zones.
    kds=KdsFlow.ZONE_TO_ZONES,
    semantic_checks=(_one_selector,),
    name_rule=NameRule.DISPLAY_LABEL,  # part of its hostnames
)
