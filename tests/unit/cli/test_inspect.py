from __future__ import annotations

from meshfabric.cli.inspect import origin, summarize_by_mesh


def _policy(mesh: str, modified: str, **labels: str) -> dict[str, object]:
    return {"mesh": mesh, "modificationTime": modified, "labels": labels}


def test_origin_names_global_zones_and_local_resources() -> None:
    assert origin({"labels": {"kuma.io/origin": "global"}}) == "global"
    zone_labels = {"kuma.io/origin": "zone", "kuma.io/zone": "us-east-1"}
    assert origin({"labels": zone_labels}) == "zone us-east-1"
    assert origin({"labels": {}}) == "local"


def test_summary_counts_per_mesh_and_origin_with_the_latest_change() -> None:
    resources = [
        _policy("kong-air", "2026-08-01T10:00:00Z", **{"kuma.io/origin": "global"}),
        _policy("default", "2026-08-01T09:00:00Z"),
        _policy("kong-air", "2026-08-01T11:00:00Z", **{"kuma.io/origin": "global"}),
    ]
    assert summarize_by_mesh(resources) == [
        {
            "mesh": "default",
            "count": 1,
            "origins": {"local": 1},
            "lastModified": "2026-08-01T09:00:00Z",
        },
        {
            "mesh": "kong-air",
            "count": 2,
            "origins": {"global": 2},
            "lastModified": "2026-08-01T11:00:00Z",
        },
    ]
