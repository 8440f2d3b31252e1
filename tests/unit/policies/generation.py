"""Generate a proxy's resources from an in-memory mesh, for policy translation tests."""

from __future__ import annotations

from typing import Any

from google.protobuf import symbol_database
from google.protobuf.message import Message

from meshfabric.dataplane_api.node import Features
from meshfabric.resources import Resource
from meshfabric.xds.envoy import types
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.generate.profile import build_resources
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.proxy_context import ProxyContext


def dataplane(name: str, service: str, protocol: str, port: int, *reaches: str) -> Resource:
    networking: dict[str, Any] = {
        "address": "10.0.0.1",
        "inbound": [
            {
                "port": port,
                "servicePort": port + 1000,
                "tags": {"kuma.io/service": service, "kuma.io/protocol": protocol},
            }
        ],
        "outbound": [
            {"port": 10000 + index, "tags": {"kuma.io/service": target}}
            for index, target in enumerate(reaches)
        ],
    }
    return Resource("Dataplane", "default", name, {"networking": networking})


def policy(type_name: str, name: str, spec: dict[str, Any]) -> Resource:
    return Resource(type_name, "default", name, spec)


def generate(proxy: str, *resources: Resource) -> tuple[ResourceSet, ProxyContext]:
    mesh = MeshContext("default")
    mesh.put(Resource("Mesh", "", "default", {}))
    for resource in resources:
        mesh.put(resource)
    found = mesh.proxy(proxy)
    assert found is not None
    ctx = ProxyContext.of(mesh, found, identity=None, features=Features())
    return build_resources(ctx), ctx


def get(resources: ResourceSet, type_url: str, name: str) -> Any:
    """A generated resource as the proxy receives it (shared ones included)."""
    for item in resources.encode():
        if item.type_url == type_url and item.name == name:
            full_name = type_url.removeprefix("type.googleapis.com/")
            message: Message = symbol_database.Default().GetSymbol(full_name)()
            item.body.Unpack(message)
            return message
    raise AssertionError(f"no {type_url} {name}")


def cluster(resources: ResourceSet, name: str) -> Any:
    return get(resources, types.CLUSTER, name)


def route(resources: ResourceSet, name: str) -> Any:
    return get(resources, types.ROUTE, name).virtual_hosts[0].routes[0].route
