from __future__ import annotations

import pytest

from meshfabric.cli.inspect import dataplane_status, origin, summarize_by_mesh


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


CONNECTED = {"connectTime": "2026-01-01T00:00:00Z"}
READY, NOT_READY = {"port": 1}, {"port": 2, "health": {"ready": False}}


@pytest.mark.parametrize(
    ("subscription", "inbounds", "status"),
    [
        (CONNECTED, [READY, READY], "Online"),
        (CONNECTED, [READY, NOT_READY], "Partially degraded"),
        (CONNECTED, [NOT_READY], "Offline"),
        ({**CONNECTED, "disconnectTime": "2026-01-01T00:01:00Z"}, [READY], "Offline"),
        ({}, [READY], "Offline"),
    ],
)
def test_dataplane_status_follows_kuma(
    subscription: dict[str, str], inbounds: list[dict[str, object]], status: str
) -> None:
    assert dataplane_status(subscription, inbounds) == status
