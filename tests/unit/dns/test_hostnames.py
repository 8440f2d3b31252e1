"""Hostnames: what matching HostnameGenerators give, Kuma's defaults among them."""

from __future__ import annotations

from meshfabric.dns import default_generators, hostnames
from meshfabric.resources import Parsed, Resource
from meshfabric.resources.types.hostnamegenerator import Spec


def resource(type_name: str, name: str, labels: dict[str, str] | None = None) -> Resource:
    return Resource(type_name, "default", name, {}, labels=labels or {})


def generator(name: str, selector: dict[str, object], template: str) -> Parsed[Spec]:
    fields = {"selector": selector, "template": template}
    return Parsed.of(Resource("HostnameGenerator", "", name, fields), Spec)


def defaults(is_global: bool, zone: str | None) -> list[Parsed[Spec]]:
    return [Parsed.of(found, Spec) for found in default_generators(is_global, zone)]


def test_kuma_default_names_in_a_zone_from_its_own_and_globals_default_generators() -> None:
    generators = sorted(
        defaults(True, None) + defaults(False, "us-east-1"), key=lambda found: found.name
    )
    local = {"kuma.io/origin": "zone", "kuma.io/zone": "us-east-1"}
    synced = {
        "kuma.io/origin": "zone",
        "kuma.io/zone": "eu-west-1",
        "kuma.io/display-name": "flight-control",
    }
    assert hostnames(resource("MeshService", "flight-control", local), generators) == [
        "flight-control.svc.mesh.local",
        "flight-control.svc.us-east-1.mesh.local",
    ]
    assert hostnames(resource("MeshService", "flight-control-x7", synced), generators) == [
        "flight-control.svc.eu-west-1.mesh.local"
    ]
    made_at_global = {"kuma.io/origin": "global"}
    assert hostnames(resource("MeshMultiZoneService", "flights", made_at_global), generators) == [
        "flights.mzsvc.mesh.local"
    ]
    assert hostnames(resource("MeshExternalService", "payments", local), generators) == [
        "payments.extsvc.mesh.local"
    ]


def test_a_standalone_control_plane_names_every_service_of_its_own() -> None:
    generators = defaults(False, None)
    assert hostnames(resource("MeshService", "crew"), generators) == ["crew.svc.mesh.local"]
    assert hostnames(resource("MeshService", "crew", {"team": "ops"}), generators) == [
        "crew.svc.mesh.local"
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
        "crew.gold.default.internal",
    ]
