"""The hostnames of a MeshService, MeshExternalService or MeshMultiZoneService: one name
from each HostnameGenerator whose selector matches the resource's labels, rendered from its
template. Kuma's default names (`<name>.svc.mesh.local`, `<name>.svc.<zone>.mesh.local`,
`<name>.mzsvc.mesh.local`, `<name>.extsvc.mesh.local`) come from the default generators each
control plane makes (`meshfabric.dns.defaults`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from meshfabric.resources import Parsed, Resource
from meshfabric.resources.common import LabelSelector
from meshfabric.resources.origin import DISPLAY_NAME_LABEL, ZONE_LABEL
from meshfabric.resources.types.hostnamegenerator import Selector, Spec, render

log = logging.getLogger(__name__)

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
) -> list[tuple[str, str]]:
    """Each hostname with the HostnameGenerator that made it."""
    names: list[tuple[str, str]] = []
    selector_of = _SELECTORS[resource.type]
    for generator in generators:
        selector = selector_of(generator.fields.selector)
        if selector is None or not _matches(selector.matchLabels or {}, resource.labels):
            continue
        try:
            names.append((_render(generator.fields.template, resource), generator.name))
        except ValueError as problem:  # validation admits only templates that render
            log.warning("HostnameGenerator %s: %s", generator.name, problem)
    first: dict[str, str] = {}
    for hostname, origin in names:
        first.setdefault(hostname.lower(), origin)
    return list(first.items())


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
