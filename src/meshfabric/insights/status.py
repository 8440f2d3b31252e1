"""The status fields of MeshService and MeshMultiZoneService, computed from one mesh's
resources. Pure functions: the updater reads the resources and writes what they return.

- `dataplaneProxies.total`: dataplanes with an inbound the MeshService selects;
  `connected`: of those, the ones whose proxy is connected to a control plane now (the newest
  subscription of its DataplaneInsight has no disconnect time); `healthy`: of the connected
  ones, those whose selected inbounds are all ready.
- `addresses`: every hostname the service answers to, one per matching HostnameGenerator
  (Kuma's defaults among them, see `meshfabric.dns.defaults`).
- `meshServices` of a MeshMultiZoneService: the MeshServices, local and synced from other
  zones, that it selects (`meshmultizoneservice.selects`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from meshfabric.dns.hostnames import NAMESPACE_LABEL, named_hostnames
from meshfabric.resources import Parsed, Resource
from meshfabric.resources.origin import ZONE_LABEL
from meshfabric.resources.types import hostnamegenerator, meshmultizoneservice, meshservice
from meshfabric.xds.model.destinations import service_ports
from meshfabric.xds.model.proxy import Proxy

Generators = Iterable[Parsed[hostnamegenerator.Spec]]


class _Subscription(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    disconnectTime: str | None = None


class InsightFields(BaseModel):
    """What is read here of a DataplaneInsight, which the control plane writes itself
    (xds.admission.insights) and no user sends: its other fields are not checked."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    subscriptions: list[_Subscription] = []


def dataplane_online(insight: Resource | None) -> bool:
    subscriptions = InsightFields.model_validate(insight.spec).subscriptions if insight else []
    return bool(subscriptions) and not subscriptions[-1].disconnectTime


def dataplane_proxies(
    service: Parsed[meshservice.Spec], proxies: Iterable[Proxy], online: Mapping[str, bool]
) -> dict[str, int]:
    ports = service_ports(service)
    total = connected = healthy = 0
    for proxy in proxies:
        selected = [i for i in proxy.inbounds if any(p.selects(proxy, i) for p in ports)]
        if not selected:
            continue
        total += 1
        if online.get(proxy.name, False):
            connected += 1
            healthy += all(inbound.ready for inbound in selected)
    return {"connected": connected, "healthy": healthy, "total": total}


def addresses(resource: Resource, generators: Generators) -> list[dict[str, Any]]:
    found = []
    for hostname, generator in named_hostnames(resource, generators):
        found.append(
            {
                "hostname": hostname,
                "origin": "HostnameGenerator",
                "hostnameGeneratorRef": {"coreName": generator},
            }
        )
    return found


def mesh_service_status(
    service: Parsed[meshservice.Spec],
    generators: Generators,
    proxies: Iterable[Proxy] | None,
    online: Mapping[str, bool],
) -> dict[str, Any]:
    """The service's status with the computed fields replaced; `proxies` None keeps its
    `dataplaneProxies` (a synced service: its own zone counts them)."""
    resource = service.resource
    status = {**(resource.status or {}), "addresses": addresses(resource, generators)}
    if proxies is not None:
        status["dataplaneProxies"] = dataplane_proxies(service, proxies, online)
    return status


def multizone_service_status(
    service: Parsed[meshmultizoneservice.Spec],
    mesh_services: Iterable[Resource],
    generators: Generators,
    zone: str,
) -> dict[str, Any]:
    """`zone` is this control plane's zone, the zone of MeshServices that carry no zone label."""
    matched = [
        _reference(candidate, zone)
        for candidate in mesh_services
        if meshmultizoneservice.selects(service.fields, candidate)
    ]
    return {
        **(service.resource.status or {}),
        "addresses": addresses(service.resource, generators),
        "meshServices": matched,
    }


def _reference(service: Resource, zone: str) -> dict[str, str]:
    return {
        "mesh": service.mesh,
        "name": service.name,
        "namespace": service.labels.get(NAMESPACE_LABEL, ""),
        "zone": service.labels.get(ZONE_LABEL, zone),
    }
