"""HostnameGenerator: how the services it selects are named in DNS, by a Go-style template."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from meshfabric.resources.common import (
    Extension,
    LabelSelector,
    Strict,
    extension_violations,
    is_dns_subdomain,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import Affects, KdsFlow, ResourceType, Scope


class Selector(Strict):
    meshService: LabelSelector | None = None
    meshExternalService: LabelSelector | None = None
    meshMultiZoneService: LabelSelector | None = None


class Spec(Strict):
    selector: Selector = Selector()
    template: str
    extension: Extension | None = None


# Kuma renders the template with these stand-ins to check it yields a DNS name.
_STUBS = {
    ".Name": "name",
    ".DisplayName": "displayname",
    ".Namespace": "namespace",
    ".Mesh": "mesh",
    ".Zone": "zone",
}
_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_LABEL_CALL = re.compile(r'^label\s+"([^"]*)"$')


def render(template: str, fields: Mapping[str, str], label: Callable[[str], str]) -> str:
    """The template with each field (".Name", ...) replaced, and each `label "key"` call by
    what `label(key)` gives."""

    def action(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression in fields:
            return fields[expression]
        call = _LABEL_CALL.match(expression)
        if call:
            return label(call.group(1))
        raise ValueError(
            f"couldn't render template with stub values: unsupported {{{{{expression}}}}}"
        )

    rendered = _ACTION.sub(action, template)
    if "{{" in rendered or "}}" in rendered:
        raise ValueError("couldn't parse template: unbalanced action delimiters")
    return rendered


def render_with_stubs(template: str) -> str:
    """The template rendered with Kuma's stand-ins (every label renders as "label")."""
    return render(template, _STUBS, lambda _: "label")


def _dns_subdomain_problem(value: str) -> str:
    """What Kubernetes' IsDNS1123Subdomain says of a value, as Kuma passes it on."""
    if len(value) > 253:
        return "must be no more than 253 characters"
    return (
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )


def _check(spec: Spec) -> list[Violation]:
    selector = spec.selector
    chosen = (selector.meshService, selector.meshExternalService, selector.meshMultiZoneService)
    violations = extension_violations("extension", spec.extension)
    if sum(item is not None for item in chosen) != 1:
        reason = "exact one selector (meshService, meshExternalService) must be defined"
        violations.insert(0, Violation("selector", reason))
    if not spec.template:
        return [*violations, Violation("template", "must not be empty")]
    try:
        rendered = render_with_stubs(spec.template)
    except ValueError as exc:
        return [*violations, Violation("template", str(exc))]
    if not is_dns_subdomain(rendered):
        reason = f'template renders to "{rendered}" which is not a valid DNS name: '
        violations.append(Violation("template", reason + _dns_subdomain_problem(rendered)))
    return violations


TYPE = ResourceType(
    name="HostnameGenerator",
    plural="hostnamegenerators",
    scope=Scope.GLOBAL,
    apply_order=40,
    short_name="hg",
    affects=Affects.EVERY_PROXY,
    schema=Spec,
    kds=KdsFlow.GLOBAL_TO_ZONE | KdsFlow.ZONE_TO_GLOBAL,
    semantic_checks=(_check,),
)
