"""The hostnames of a MeshService, MeshExternalService or MeshMultiZoneService.

Kuma's defaults come first (`<name>.svc.mesh.local` for a MeshService of this zone,
`<name>.svc.<zone>.mesh.local` for one synced from another zone, `<name>.mzsvc.mesh.local`,
`<name>.extsvc.mesh.local`), then one name from each HostnameGenerator whose selector matches
the resource's labels, rendered from its template.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from meshfabric.resources import Parsed, Resource
from meshfabric.resources.common import LabelSelector
from meshfabric.resources.types.hostnamegenerator import Selector, Spec, render

log = logging.getLogger(__name__)

ORIGIN_LABEL = "kuma.io/origin"
ZONE_LABEL = "kuma.io/zone"
DISPLAY_NAME_LABEL = "kuma.io/display-name"
NAMESPACE_LABEL = "k8s.kuma.io/namespace"

# The HostnameGenerator selector for each type it can name.
_SELECTORS: dict[str, Callable[[Selector], LabelSelector | None]] = {
    "MeshService": lambda selector: selector.meshService,
    "MeshExternalService": lambda selector: selector.meshExternalService,
    "MeshMultiZoneService": lambda selector: selector.meshMultiZoneService,
}


def hostnames(resource: Resource, generators: Iterable[Parsed[Spec]]) -> list[str]:
    return [hostname for hostname, _ in named_hostnames(resource, generators)]


def named_hostnames(
    resource: Resource, generators: Iterable[Parsed[Spec]]
) -> list[tuple[str, str | None]]:
    """Each hostname with the HostnameGenerator that made it (None for Kuma's default)."""
    names: list[tuple[str, str | None]] = [(_default(resource), None)]
    selector_of = _SELECTORS[resource.type]
    for generator in generators:
        selector = selector_of(generator.fields.selector)
        if selector is None or not _matches(selector.matchLabels or {}, resource.labels):
            continue
        try:
            names.append((_render(generator.fields.template, resource), generator.name))
        except ValueError as problem:  # validation admits only templates that render
            log.warning("HostnameGenerator %s: %s", generator.name, problem)
    first: dict[str, str | None] = {}
    for hostname, origin in names:
        first.setdefault(hostname.lower(), origin)
    return list(first.items())


def _default(resource: Resource) -> str:
    name = resource.labels.get(DISPLAY_NAME_LABEL, resource.name)
    if resource.type == "MeshMultiZoneService":
        return f"{name}.mzsvc.mesh.local"
    if resource.type == "MeshExternalService":
        return f"{name}.extsvc.mesh.local"
    zone = resource.labels.get(ZONE_LABEL, "")
    if resource.labels.get(ORIGIN_LABEL) == "global" and zone:
        return f"{name}.svc.{zone}.mesh.local"  # synced from another zone
    return f"{name}.svc.mesh.local"


def _render(template: str, resource: Resource) -> str:
    labels = resource.labels
    fields = {
        ".Name": resource.name,
        ".DisplayName": labels.get(DISPLAY_NAME_LABEL, resource.name),
        ".Namespace": labels.get(NAMESPACE_LABEL, ""),
        ".Mesh": resource.mesh,
        ".Zone": labels.get(ZONE_LABEL, ""),
    }
    return render(template, fields, lambda key: labels.get(key, ""))


def _matches(wanted: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in wanted.items())
