"""What global says of a zone's ingresses and egresses, and of a zone a mesh cannot leave."""

from __future__ import annotations

from meshfabric.insights.zones import zone_proxies
from meshfabric.resources import Parsed, Resource
from meshfabric.resources.types.mesh import MeshFields

MTLS = {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]}


def synced(type_name: str, name: str, zone: str, **networking: object) -> Resource:
    labels = {"kuma.io/origin": "zone", "kuma.io/zone": zone}
    reachable = {"address": "10.0.0.1", "port": 10001}
    reachable |= {"advertisedAddress": "203.0.113.7", "advertisedPort": 10001}
    return Resource(type_name, "", name, {"networking": reachable | networking}, labels)


def mesh(name: str, zone_egress: bool) -> Parsed[MeshFields]:
    spec = {"mtls": MTLS, "routing": {"zoneEgress": zone_egress}}
    return Parsed.of(Resource("Mesh", "", name, spec), MeshFields)


def test_a_zone_counts_only_its_own_ingresses_and_egresses() -> None:
    ingresses = [synced("ZoneIngress", "i-1", "us-east-1"), synced("ZoneIngress", "i-2", "eu")]
    egresses = [synced("ZoneEgress", "e-1", "us-east-1")]
    found = zone_proxies("us-east-1", ingresses, egresses, [mesh("default", True)])
    assert found == {"zoneIngresses": 1, "zoneEgresses": 1, "warnings": []}


def test_a_zone_without_an_egress_is_named_for_each_mesh_that_requires_one() -> None:
    egresses = [synced("ZoneEgress", "e-1", "eu-west-1")]
    meshes = [mesh("default", True), mesh("other", False)]
    found = zone_proxies("us-east-1", [], egresses, meshes)
    assert found["zoneEgresses"] == 0
    assert found["warnings"] == [
        'mesh "default" requires zoneEgress (routing.zoneEgress: true) and zone "us-east-1" '
        "has no ZoneEgress: its calls to other zones and to MeshExternalServices fail"
    ]


def test_an_ingress_other_zones_cannot_dial_is_named_with_the_reason() -> None:
    ingresses = [
        synced("ZoneIngress", "fine", "us-east-1"),
        synced("ZoneIngress", "hidden", "us-east-1", advertisedAddress="", advertisedPort=0),
        synced("ZoneIngress", "one-host", "us-east-1", advertisedAddress="127.0.0.1"),
        synced("ZoneIngress", "any", "us-east-1", advertisedAddress="0.0.0.0"),
        synced("ZoneIngress", "any6", "us-east-1", advertisedAddress="::"),
        synced("ZoneIngress", "by-name", "us-east-1", advertisedAddress="ingress.example.com"),
        synced("ZoneIngress", "elsewhere", "eu-west-1", advertisedAddress=""),
    ]
    found = zone_proxies("us-east-1", ingresses, [], [])
    assert found["zoneIngresses"] == 6
    reach = "other zones cannot reach this zone's services through it"
    assert found["warnings"] == [
        f'ZoneIngress "hidden" of zone "us-east-1" has no advertised address and port: {reach}',
        f'ZoneIngress "any" of zone "us-east-1" advertises 0.0.0.0, which no other zone '
        f"can dial: {reach}",
        f'ZoneIngress "any6" of zone "us-east-1" advertises ::, which no other zone '
        f"can dial: {reach}",
    ]
