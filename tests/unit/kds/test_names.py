"""Names and labels of synced resources, checked against Kuma's published vectors."""

from __future__ import annotations

from meshfabric.kds.names import (
    DISPLAY_NAME_LABEL,
    ORIGIN_LABEL,
    ZONE_LABEL,
    global_labels,
    hashed_name,
    made_in_zone,
    synced_to_zone,
    zone_labels,
)


def test_kuma_hash_vectors() -> None:
    assert hashed_name("", "foo") == "foo-zxw6c95d42zfz9cc"
    assert hashed_name("", "foo", "zone-1", "custom-ns") == "foo-696vzv497z4cv4f4"


def test_the_hash_tells_zones_and_meshes_apart() -> None:
    names = {
        hashed_name("default", "backend", "zone-a"),
        hashed_name("default", "backend", "zone-b"),
        hashed_name("other", "backend", "zone-a"),
    }
    assert len(names) == 3


def test_a_long_name_is_shortened_to_fit_253_characters() -> None:
    name = hashed_name("default", "x" * 300, "zone-a")
    assert len(name) == 253 and name.startswith("x" * 236 + "-")


def test_a_zones_resource_at_global_says_where_it_came_from() -> None:
    labels = zone_labels({"team": "core"}, "zone-a", "backend")
    assert labels == {
        "team": "core",
        ORIGIN_LABEL: "zone",
        ZONE_LABEL: "zone-a",
        DISPLAY_NAME_LABEL: "backend",
    }
    assert made_in_zone(labels, "zone-a") and not made_in_zone(labels, "zone-b")


def test_a_zone_tells_what_it_received_from_what_it_made() -> None:
    assert synced_to_zone(global_labels({}), "zone-a")
    assert synced_to_zone(zone_labels({}, "zone-b", "backend"), "zone-a")
    assert not synced_to_zone(zone_labels({}, "zone-a", "backend"), "zone-a")
    assert not synced_to_zone({"team": "core"}, "zone-a")
