"""Each type's descriptor is the one source of its facts; what copies them must agree."""

from __future__ import annotations

from pathlib import Path

from meshfabric.resources import REGISTRY, Affects
from meshfabric.resources.export import collection_type_facts

COLLECTION_FACTS = Path(__file__).parents[3] / "plugins" / "module_utils" / "type_facts.py"


def test_the_collections_type_facts_are_generated_from_the_descriptors() -> None:
    assert COLLECTION_FACTS.read_text() == collection_type_facts(), (
        "regenerate: python -m meshfabric.resources.export > plugins/module_utils/type_facts.py"
    )


def test_whatever_a_type_refers_to_is_applied_before_it() -> None:
    order = {rtype.name: rtype.apply_order for rtype in REGISTRY}
    refers_to = {
        "Secret": "Mesh",
        "MeshService": "Mesh",
        "MeshMultiZoneService": "MeshService",
        "Dataplane": "MeshService",
        "MeshTimeout": "Dataplane",
    }
    assert all(order[rtype] > order[target] for rtype, target in refers_to.items())


def test_short_names_are_kumactls_and_unique() -> None:
    short = {rtype.short_name: rtype.name for rtype in REGISTRY if rtype.short_name}
    assert short["mtp"] == "MeshTrafficPermission" and short["msvc"] == "MeshService"
    assert len(short) == len([rtype for rtype in REGISTRY if rtype.short_name])


def test_every_policy_affects_the_proxies_it_selects() -> None:
    assert {rtype.affects for rtype in REGISTRY if rtype.is_policy} == {Affects.SELECTED}
    assert REGISTRY.get("Zone").affects is Affects.NOTHING
