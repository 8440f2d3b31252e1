"""Monitoring assignments: where Prometheus scrapes each proxy that a MeshMetric selects,
in Prometheus' HTTP service discovery format (`http_sd_configs`).

A zone lists its own proxies; global lists every zone's, from the Dataplanes the zones sync
to it, so one Prometheus sees the whole mesh. Each target carries the labels `mesh`, `zone`,
`service` (the first inbound's kuma.io/service) and `dataplane` (the name given in its zone),
and the backend's path as `__metrics_path__`; each of the policy's `applications` is a
target of its own on the same port, labelled `application` too. A MeshMetric made in a
zone applies to that zone's proxies only, at global as it does in the zones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from meshfabric.policies.core import proxy_conf
from meshfabric.policies.meshmetric.api import (
    Spec,
    application_name,
    application_path,
    prometheus_backends,
)
from meshfabric.resources import Parsed, Resource
from meshfabric.resources.origin import DISPLAY_NAME_LABEL, ORIGIN_LABEL, ORIGIN_ZONE, ZONE_LABEL
from meshfabric.xds.model.proxy import Proxy

POLICY_TYPE = "MeshMetric"
MADS_TYPE_URL = "type.googleapis.com/kuma.observability.v1.MonitoringAssignment"

TargetGroup = dict[str, Any]  # {"targets": ["host:port"], "labels": {...}}


def assignments(
    dataplanes: Iterable[Resource], meshmetrics: Iterable[Resource], local_zone: str
) -> list[TargetGroup]:
    """One target group per proxy and Prometheus backend; `local_zone` names the zone of
    the proxies that carry no kuma.io/zone label (a zone's own)."""
    policies: dict[str, list[Parsed[Spec]]] = {}
    for policy in meshmetrics:
        policies.setdefault(policy.mesh, []).append(Parsed.of(policy, Spec))
    groups = []
    for dataplane in dataplanes:
        zone = dataplane.labels.get(ZONE_LABEL, local_zone)
        applying = [p for p in policies.get(dataplane.mesh, []) if _applies_in(p.resource, zone)]
        groups += _groups(dataplane, zone, applying)
    return groups


def _applies_in(policy: Resource, zone: str) -> bool:
    made_in_a_zone = policy.labels.get(ORIGIN_LABEL) == ORIGIN_ZONE
    return not made_in_a_zone or policy.labels.get(ZONE_LABEL) == zone


def _groups(dataplane: Resource, zone: str, policies: Sequence[Parsed[Spec]]) -> list[TargetGroup]:
    if not policies:
        return []
    proxy = Proxy.from_resource(dataplane)
    conf = proxy_conf(policies, proxy).conf
    if conf is None or not proxy.address:
        return []
    labels = _labels(dataplane, proxy, zone)
    groups = []
    for backend in prometheus_backends(conf):
        target = [f"{_host(proxy.address)}:{backend.port}"]
        groups.append({"targets": target, "labels": {**labels, "__metrics_path__": backend.path}})
        groups += [
            {
                "targets": target,
                "labels": {
                    **labels,
                    "application": application_name(application),
                    "__metrics_path__": application_path(backend.path, application),
                },
            }
            for application in conf.applications or []
        ]
    return groups


def _labels(dataplane: Resource, proxy: Proxy, zone: str) -> Mapping[str, str]:
    services = [inbound.service for inbound in proxy.inbounds if inbound.service]
    return {
        "mesh": dataplane.mesh,
        "zone": zone,
        "service": services[0] if services else "",
        "dataplane": dataplane.labels.get(DISPLAY_NAME_LABEL, dataplane.name),
    }


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def mads_assignments(groups: Iterable[TargetGroup]) -> list[dict[str, Any]]:
    """The same targets as Kuma's MonitoringAssignment resources (MADS v1, in JSON), one per
    target: Prometheus' kuma_sd turns their labels into `__meta_kuma_label_<name>`."""
    resources = []
    for group in groups:
        labels = {k: v for k, v in group["labels"].items() if not k.startswith("__")}
        target = {
            "name": labels["dataplane"],
            "scheme": "http",
            "address": group["targets"][0],
            "metricsPath": group["labels"]["__metrics_path__"],
            "labels": labels,
        }
        resources.append(
            {
                "@type": MADS_TYPE_URL,
                "mesh": labels["mesh"],
                "service": labels["service"],
                "targets": [target],
            }
        )
    return resources
