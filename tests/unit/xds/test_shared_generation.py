"""Proxies with the same inputs share their outbound resources, and get exactly what they
would get if each built its own."""

from __future__ import annotations

from meshfabric.dataplane_api.node import Features
from meshfabric.policies.registry import PLUGINS
from meshfabric.resources import Resource
from meshfabric.xds.envoy import types
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.generate import outbound
from meshfabric.xds.generate.profile import build_resources
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.proxy_context import ProxyContext
from tests.unit.policies.generation import dataplane, policy

OUTBOUND_TYPES = (types.CLUSTER, types.LISTENER, types.ROUTE)


def mesh_with(*resources: Resource) -> MeshContext:
    mesh = MeshContext("default")
    mesh.put(Resource("Mesh", "", "default", {}))
    for resource in resources:
        mesh.put(resource)
    return mesh


def context(mesh: MeshContext, name: str) -> ProxyContext:
    proxy = mesh.proxy(name)
    assert proxy is not None
    return ProxyContext.of(mesh, proxy, None, Features())


def outbound_resources(ctx: ProxyContext) -> dict[tuple[str, str], XdsResource]:
    return {
        (item.type_url, item.name): item
        for item in build_resources(ctx).encode()
        if item.type_url in OUTBOUND_TYPES and item.name.startswith(("outbound", "backend", "db"))
    }


def built_alone(ctx: ProxyContext) -> dict[tuple[str, str], str]:
    """What generating and editing every outbound of this one proxy gives, by version."""
    resources = ResourceSet()
    outbound.generate(ctx, resources)
    for plugin in PLUGINS:
        plugin.apply(resources, ctx)
    return {
        (item.type_url, item.name): item.version
        for item in resources.encode()
        if item.type_url in OUTBOUND_TYPES
    }


def with_address(resource: Resource, address: str) -> Resource:
    resource.spec["networking"]["outbound"] = [
        {**item, "address": address} for item in resource.spec["networking"]["outbound"]
    ]
    return resource


TIMEOUTS = policy(
    "MeshTimeout",
    "web-timeouts",
    {
        "targetRef": {"kind": "MeshService", "name": "web"},
        "to": [{"targetRef": {"kind": "Mesh"}, "default": {"connectionTimeout": "2s"}}],
    },
)
SERVICES = (
    dataplane("backend-1", "backend", "http", 8081),
    dataplane("db-1", "db", "tcp", 5432),
    TIMEOUTS,
)


def test_proxies_with_the_same_inputs_share_the_same_encoded_resources() -> None:
    mesh = mesh_with(
        dataplane("web-1", "web", "http", 8080, "backend", "db"),
        dataplane("web-2", "web", "http", 8080, "backend", "db"),
        dataplane("api-1", "api", "http", 8080, "backend", "db"),
        *SERVICES,
    )
    web_1, web_2 = (outbound_resources(context(mesh, name)) for name in ("web-1", "web-2"))
    api = outbound_resources(context(mesh, "api-1"))
    assert web_1.keys() == web_2.keys() == api.keys()
    assert all(web_1[key] is web_2[key] for key in web_1)
    # MeshTimeout selects web, not api: api's clusters are its own
    cluster = (types.CLUSTER, "backend")
    assert api[cluster] is not web_1[cluster]
    assert api[cluster].version != web_1[cluster].version


def test_shared_resources_equal_what_each_proxy_would_build_alone() -> None:
    mesh = mesh_with(
        with_address(dataplane("web-1", "web", "http", 8080, "backend", "db"), "127.0.0.2"),
        with_address(dataplane("web-2", "web", "http", 8080, "backend", "db"), "127.0.0.3"),
        *SERVICES,
    )
    for name in ("web-1", "web-2"):
        ctx = context(mesh, name)
        shared = {key: item.version for key, item in outbound_resources(ctx).items()}
        assert shared == built_alone(ctx)
