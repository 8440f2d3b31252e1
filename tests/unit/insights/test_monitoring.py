"""Monitoring assignments: which proxies Prometheus scrapes, where, and with which labels."""

from __future__ import annotations

from typing import Any

from meshfabric.insights.monitoring import assignments
from meshfabric.resources import Resource
from meshfabric.resources.origin import DISPLAY_NAME_LABEL, ORIGIN_LABEL, ZONE_LABEL


def dataplane(name: str, service: str, address: str, **labels: str) -> Resource:
    inbound = {"port": 8080, "tags": {"kuma.io/service": service}}
    spec = {"networking": {"address": address, "inbound": [inbound]}}
    return Resource("Dataplane", "default", name, spec, labels=labels)


def meshmetric(name: str, port: int, path: str = "/metrics", **spec: Any) -> Resource:
    backend = {"type": "Prometheus", "prometheus": {"port": port, "path": path}}
    body = {"default": {"backends": [backend]}, **spec}
    labels = {}
    if zone := body.pop("zone", None):
        labels = {ORIGIN_LABEL: "zone", ZONE_LABEL: zone}
    return Resource("MeshMetric", "default", name, body, labels=labels)


def synced(name: str, service: str, address: str, zone: str) -> Resource:
    labels = {ORIGIN_LABEL: "zone", ZONE_LABEL: zone, DISPLAY_NAME_LABEL: name}
    return dataplane(f"{name}-hashed", service, address, **labels)


def test_a_zone_lists_its_proxies_with_mesh_zone_service_and_dataplane_labels() -> None:
    groups = assignments(
        [dataplane("web-1", "web", "10.0.0.1")], [meshmetric("m", 5670)], "us-east-1"
    )
    assert groups == [
        {
            "targets": ["10.0.0.1:5670"],
            "labels": {
                "mesh": "default",
                "zone": "us-east-1",
                "service": "web",
                "dataplane": "web-1",
                "__metrics_path__": "/metrics",
            },
        }
    ]


def test_global_lists_every_zones_proxies_by_the_names_given_in_their_zones() -> None:
    proxies = [
        synced("web-1", "web", "10.1.0.1", "us-east-1"),
        synced("web-1", "web", "10.2.0.1", "eu-west-1"),
    ]
    groups = assignments(proxies, [meshmetric("m", 5670)], "global")
    assert [(g["targets"], g["labels"]["zone"], g["labels"]["dataplane"]) for g in groups] == [
        (["10.1.0.1:5670"], "us-east-1", "web-1"),
        (["10.2.0.1:5670"], "eu-west-1", "web-1"),
    ]


def test_a_policy_made_in_a_zone_assigns_only_that_zones_proxies() -> None:
    proxies = [
        synced("web-1", "web", "10.1.0.1", "us-east-1"),
        synced("web-1", "web", "10.2.0.1", "eu-west-1"),
    ]
    groups = assignments(proxies, [meshmetric("m", 9102, zone="eu-west-1")], "global")
    assert [g["targets"] for g in groups] == [["10.2.0.1:9102"]]


def test_only_selected_proxies_are_listed_with_the_most_specific_policys_port_and_path() -> None:
    proxies = [dataplane("web-1", "web", "10.0.0.1"), dataplane("db-1", "db", "10.0.0.2")]
    web_only = {"targetRef": {"kind": "MeshService", "name": "web"}}
    policies = [meshmetric("web", 9102, "/stats", **web_only)]
    assert [
        (g["targets"], g["labels"]["__metrics_path__"]) for g in assignments(proxies, policies, "z")
    ] == [(["10.0.0.1:9102"], "/stats")]
    policies.append(meshmetric("mesh", 5670))
    listed = {g["targets"][0] for g in assignments(proxies, policies, "z")}
    assert listed == {"10.0.0.1:9102", "10.0.0.2:5670"}


def test_each_application_is_a_target_of_its_own_on_the_metrics_port() -> None:
    policy = meshmetric("m", 5670)
    policy.spec["default"]["applications"] = [{"name": "web", "path": "/prom", "port": 9464}]
    groups = assignments([dataplane("web-1", "web", "10.0.0.1")], [policy], "z")
    assert [(g["targets"], g["labels"]["__metrics_path__"]) for g in groups] == [
        (["10.0.0.1:5670"], "/metrics"),
        (["10.0.0.1:5670"], "/metrics/applications/web"),
    ]
    assert groups[1]["labels"]["application"] == "web"


def test_no_meshmetric_no_targets() -> None:
    assert assignments([dataplane("web-1", "web", "10.0.0.1")], [], "z") == []
