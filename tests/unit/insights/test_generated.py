"""The rules by which a zone generates MeshServices from its Dataplanes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meshfabric.insights.generated import GRACE_LABEL, Plan, plan
from meshfabric.resources import Resource, ResourceKey

ZONE = "us-east-1"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
GRACE = 3600.0
GENERATED_LABELS = {
    "kuma.io/mesh": "default",
    "kuma.io/managed-by": "meshservice-generator",
    "kuma.io/env": "universal",
    "kuma.io/origin": "zone",
    "kuma.io/zone": ZONE,
}


def mesh(mode: str | None = "Everywhere") -> Resource:
    spec: dict[str, Any] = {} if mode is None else {"meshServices": {"mode": mode}}
    return Resource("Mesh", "", "default", spec)


def inbound(service: str, port: int, **extra: Any) -> dict[str, Any]:
    tags = {"kuma.io/service": service, **extra.pop("tags", {})}
    return {"port": port, "servicePort": port + 1000, "tags": tags, **extra}


def dataplane(
    name: str, *inbounds: dict[str, Any], labels: dict[str, str] | None = None
) -> Resource:
    spec = {"networking": {"address": "10.0.0.1", "inbound": list(inbounds)}}
    return Resource("Dataplane", "default", name, spec, labels or {})


def generated(name: str, ports: list[dict[str, Any]], **labels: str) -> Resource:
    spec = {"selector": {"dataplaneTags": {"kuma.io/service": name}}, "ports": ports}
    all_labels = {**GENERATED_LABELS, "kuma.io/display-name": name, **labels}
    return Resource("MeshService", "default", name, spec, all_labels, version=3)


def port(number: int, protocol: str = "tcp", name: str | None = None) -> dict[str, Any]:
    return {
        "name": name or str(number),
        "port": number,
        "targetPort": number,
        "appProtocol": protocol,
    }


def run(
    dataplanes: list[Resource],
    services: tuple[Resource, ...] | list[Resource] = (),
    mode: str | None = "Everywhere",
) -> Plan:
    return plan(mesh(mode), dataplanes, services, ZONE, NOW, GRACE)


def test_each_service_tag_becomes_a_meshservice_with_kumas_labels_selector_and_ports() -> None:
    result = run(
        [
            dataplane(
                "flight-control-1",
                inbound("flight-control", 8080, tags={"kuma.io/protocol": "http"}, name="api"),
                inbound("flight-control", 9090),
                inbound("metrics", 9100, protocol="grpc"),
            )
        ]
    )
    made = {resource.name: (resource, version) for resource, version in result.puts}
    service, version = made["flight-control"]
    assert version == 0  # created only if no MeshService of that name exists
    assert service.labels == {**GENERATED_LABELS, "kuma.io/display-name": "flight-control"}
    assert service.spec == {
        "selector": {"dataplaneTags": {"kuma.io/service": "flight-control"}},
        "ports": [port(8080, "http", "api"), port(9090)],
    }
    assert made["metrics"][0].spec["ports"] == [port(9100, "grpc")]
    assert result.deletes == [] and result.recheck_in is None


def test_an_unknown_protocol_is_tcp_and_a_name_that_is_no_dns_label_is_skipped() -> None:
    result = run(
        [
            dataplane(
                "dp-1",
                inbound("backend", 80, tags={"kuma.io/protocol": "smtp"}),
                inbound("Not_A_Label", 81),
            )
        ]
    )
    assert [(r.name, r.spec["ports"]) for r, _ in result.puts] == [("backend", [port(80)])]


@pytest.mark.parametrize("mode", [None, "Disabled"])
def test_nothing_is_generated_and_generated_ones_go_while_the_mode_is_disabled(
    mode: str | None,
) -> None:
    written = Resource("MeshService", "default", "written", {}, {}, version=1)
    stale = generated("backend", [port(80)])
    result = run([dataplane("dp-1", inbound("backend", 80))], [written, stale], mode)
    assert result.puts == []
    assert result.deletes == [(stale.key, 3)]


@pytest.mark.parametrize("mode", ["Everywhere", "ReachableBackends", "Exclusive"])
def test_every_other_mode_generates(mode: str) -> None:
    result = run([dataplane("dp-1", inbound("backend", 80))], mode=mode)
    assert [resource.name for resource, _ in result.puts] == ["backend"]


def test_a_written_meshservice_of_the_same_name_is_never_overwritten() -> None:
    written = Resource(
        "MeshService",
        "default",
        "backend",
        {"ports": [{"port": 1, "targetPort": 80}]},
        {"kuma.io/origin": "zone", "kuma.io/zone": ZONE},
        version=1,
    )
    result = run([dataplane("dp-1", inbound("backend", 80))], [written])
    assert result.puts == [] and result.deletes == []


def test_services_synced_from_other_zones_are_left_alone() -> None:
    remote = generated("backend", [port(80)], **{"kuma.io/zone": "eu-west-1"})
    remote_dataplane = dataplane(
        "dp-remote",
        inbound("payments", 80),
        labels={"kuma.io/origin": "zone", "kuma.io/zone": "eu-west-1"},
    )
    result = run([remote_dataplane], [remote])
    assert result.puts == [] and result.deletes == []


def test_an_up_to_date_service_is_not_written_and_a_changed_port_is() -> None:
    current = generated("backend", [port(80)])
    assert run([dataplane("dp-1", inbound("backend", 80))], [current]).puts == []
    result = run([dataplane("dp-1", inbound("backend", 81))], [current])
    assert [(r.spec["ports"], version) for r, version in result.puts] == [([port(81)], 3)]


def test_differing_dataplanes_the_first_by_name_decides_unless_the_stored_ports_match_one() -> None:
    dataplanes = [
        dataplane("dp-b", inbound("backend", 81)),
        dataplane("dp-a", inbound("backend", 80)),
    ]
    assert [r.spec["ports"] for r, _ in run(dataplanes).puts] == [[port(80)]]
    stored = generated("backend", [port(81)])
    assert run(dataplanes, [stored]).puts == []


def test_without_dataplanes_the_grace_period_starts_then_ends_in_a_delete() -> None:
    current = generated("backend", [port(80)], extra="kept")
    started = run([], [current])
    [(marked, version)] = started.puts
    assert version == 3
    assert marked.labels == {**current.labels, GRACE_LABEL: "2026-12-01T12:00:00+00:00"}
    assert started.recheck_in == GRACE

    half_way = (NOW - timedelta(seconds=GRACE / 2)).isoformat()
    waiting = run([], [generated("backend", [port(80)], **{GRACE_LABEL: half_way})])
    assert waiting.puts == [] and waiting.deletes == []
    assert waiting.recheck_in == GRACE / 2

    over = (NOW - timedelta(seconds=GRACE + 1)).isoformat()
    expired = generated("backend", [port(80)], **{GRACE_LABEL: over})
    assert run([], [expired]).deletes == [(ResourceKey("MeshService", "default", "backend"), 3)]


def test_a_dataplane_coming_back_ends_the_grace_period_and_keeps_other_labels() -> None:
    marked = generated("backend", [port(80)], extra="kept", **{GRACE_LABEL: NOW.isoformat()})
    [(kept, _)] = run([dataplane("dp-1", inbound("backend", 80))], [marked]).puts
    assert GRACE_LABEL not in kept.labels
    assert kept.labels["extra"] == "kept"


def test_an_unreadable_grace_label_starts_the_period_again() -> None:
    marked = generated("backend", [port(80)], **{GRACE_LABEL: "yesterday"})
    [(restarted, _)] = run([], [marked]).puts
    assert restarted.labels[GRACE_LABEL] == NOW.isoformat(timespec="seconds")
