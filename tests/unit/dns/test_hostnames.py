"""Hostnames: Kuma's defaults, and what matching HostnameGenerators add."""

from __future__ import annotations

from meshfabric.dns import hostnames
from meshfabric.resources import Parsed, Resource
from meshfabric.resources.types.hostnamegenerator import Spec


def resource(type_name: str, name: str, labels: dict[str, str] | None = None) -> Resource:
    return Resource(type_name, "default", name, {}, labels=labels or {})


def generator(name: str, selector: dict[str, object], template: str) -> Parsed[Spec]:
    fields = {"selector": selector, "template": template}
    return Parsed.of(Resource("HostnameGenerator", "", name, fields), Spec)


def test_kuma_defaults() -> None:
    synced = {"kuma.io/origin": "global", "kuma.io/zone": "eu-west-1"}
    display = {**synced, "kuma.io/display-name": "flight-control"}
    assert hostnames(resource("MeshService", "flight-control"), []) == [
        "flight-control.svc.mesh.local"
    ]
    assert hostnames(resource("MeshService", "flight-control-x7", display), []) == [
        "flight-control.svc.eu-west-1.mesh.local"
    ]
    assert hostnames(resource("MeshMultiZoneService", "flights"), []) == [
        "flights.mzsvc.mesh.local"
    ]
    assert hostnames(resource("MeshExternalService", "payments"), []) == [
        "payments.extsvc.mesh.local"
    ]


def test_generators_whose_selector_matches_add_their_rendered_template() -> None:
    labels = {"team": "ops", "tier": "Gold"}
    generators = [
        generator(
            "by-team",
            {"meshService": {"matchLabels": {"team": "ops"}}},
            '{{ .Name }}.{{ label "tier" }}.{{ .Mesh }}.internal',
        ),
        generator("other-team", {"meshService": {"matchLabels": {"team": "dev"}}}, "x.{{ .Name }}"),
        generator("external", {"meshExternalService": {"matchLabels": {}}}, "{{ .Name }}.ext"),
    ]
    assert hostnames(resource("MeshService", "crew", labels), generators) == [
        "crew.svc.mesh.local",
        "crew.gold.default.internal",
    ]
