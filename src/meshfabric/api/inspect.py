"""Inspection: the Envoy config the control plane generates for a dataplane, and what the
proxy's own Envoy reports (config dump, stats, clusters), fetched through its admin tunnel."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from meshfabric.api.context import ApiContext, context
from meshfabric.api.errors import ApiError
from meshfabric.dataplane_api.envoy_admin import CLUSTERS, CONFIG_DUMP, STATS
from meshfabric.resources import Resource, ResourceKey
from meshfabric.xds.admission.envoy_admin import (
    ProxyAdminFailed,
    ProxyAdminTimeout,
    ProxyNotConnected,
)

Ctx = Annotated[ApiContext, Depends(context)]

router = APIRouter(tags=["Inspect"])

ZONE_LABEL = "kuma.io/zone"
DISPLAY_NAME_LABEL = "kuma.io/display-name"


@router.get(
    "/meshes/{mesh}/dataplanes/{name}/_config",
    summary="The Envoy config of a dataplane and the policies that shaped it",
)
async def dataplane_config(ctx: Ctx, mesh: str, name: str) -> dict[str, Any]:
    if ctx.inspector is None:
        raise ApiError(400, "Bad Request", "only a zone control plane generates Envoy config")
    config = await ctx.inspector.dataplane_config(mesh, name)
    if config is None:
        raise ApiError(404, "Not found", f"Dataplane {mesh}/{name} not found")
    return config


@router.get(
    "/meshes/{mesh}/dataplanes/{name}/xds",
    summary="The config dump of a dataplane's Envoy (private keys and its token redacted)",
    response_class=Response,
)
async def config_dump(
    ctx: Ctx,
    mesh: str,
    name: str,
    include_eds: Annotated[bool, Query(description="Each cluster's endpoints too")] = False,
) -> Response:
    return await _ask_envoy(ctx, mesh, name, CONFIG_DUMP, include_eds)


@router.get(
    "/meshes/{mesh}/dataplanes/{name}/stats",
    summary="The statistics of a dataplane's Envoy, in Envoy's text format",
    response_class=Response,
)
async def stats(ctx: Ctx, mesh: str, name: str) -> Response:
    return await _ask_envoy(ctx, mesh, name, STATS)


@router.get(
    "/meshes/{mesh}/dataplanes/{name}/clusters",
    summary="The clusters of a dataplane's Envoy and their endpoints, in Envoy's text format",
    response_class=Response,
)
async def clusters(ctx: Ctx, mesh: str, name: str) -> Response:
    return await _ask_envoy(ctx, mesh, name, CLUSTERS)


async def _ask_envoy(
    ctx: ApiContext, mesh: str, name: str, kind: str, include_eds: bool = False
) -> Response:
    key = ResourceKey("Dataplane", mesh, name)
    dataplane = await ctx.manager.store.get(key)
    if ctx.envoy_admin is None:
        raise ApiError(400, "Bad Request", _ask_the_zone(mesh, name, dataplane))
    if dataplane is None:
        raise ApiError(404, "Not found", f"Dataplane {mesh}/{name} not found")
    proxy = f'dataplane "{name}" of mesh "{mesh}"'
    try:
        answer = await ctx.envoy_admin.ask(key, kind, include_eds)
    except ProxyNotConnected:
        raise ApiError(503, "Service Unavailable", await _not_connected(ctx, proxy, key)) from None
    except ProxyAdminTimeout as late:
        raise ApiError(504, "Gateway Timeout", f"the proxy of {proxy}: {late}") from None
    except ProxyAdminFailed as failed:
        detail = f"the proxy of {proxy} could not answer: {failed}"
        raise ApiError(502, "Bad Gateway", detail) from None
    return Response(answer.body, media_type=answer.content_type or "text/plain")


async def _not_connected(ctx: ApiContext, proxy: str, key: ResourceKey) -> str:
    """Why there is no tunnel: the proxy is offline, or served by another instance."""
    insight = await ctx.manager.store.get(ResourceKey("DataplaneInsight", key.mesh, key.name))
    subscriptions = (insight.spec if insight else {}).get("subscriptions") or [{}]
    latest = subscriptions[-1]
    instance = latest.get("controlPlaneInstanceId")
    if latest.get("connectTime") and not latest.get("disconnectTime") and instance:
        if instance != ctx.instance_id:
            return (
                f"{proxy} is connected to control-plane instance {instance}, not to this one "
                f"({ctx.instance_id}): ask that instance"
            )
        return f"{proxy} is connected, but its meshfabric-dp has no Envoy admin tunnel open"
    return (
        f"{proxy} is not connected to this control plane: its proxy is offline "
        "(`meshctl inspect dataplanes` shows its state)"
    )


def _ask_the_zone(mesh: str, name: str, dataplane: Resource | None) -> str:
    where = "its zone's control plane"
    labels = dataplane.labels if dataplane is not None else {}
    if ZONE_LABEL in labels:
        shown = labels.get(DISPLAY_NAME_LABEL, name)
        where = f'the control plane of zone "{labels[ZONE_LABEL]}" (as dataplane "{shown}")'
    return (
        f"a global control plane does not reach proxies: ask {where} for dataplane "
        f'"{name}" of mesh "{mesh}"'
    )
