"""Inspection: the Envoy config the control plane generates for a dataplane, and what the
proxy's own Envoy reports (config dump, stats, clusters), fetched through its admin tunnel;
on global, through the KDS connection of the zone that serves the proxy."""

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from meshfabric.api.context import ApiContext, context
from meshfabric.api.errors import ApiError
from meshfabric.dataplane_api.envoy_admin import (
    CLUSTERS,
    CONFIG_DUMP,
    NOT_FOUND,
    STATS,
    AdminAnswer,
    AdminError,
)
from meshfabric.dataplane_api.envoy_admin_pb2 import AdminRequest
from meshfabric.resources import ResourceKey

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
    request = AdminRequest(kind=CONFIG_DUMP, include_eds=include_eds)
    return await _ask_envoy(ctx, mesh, name, request)


@router.get(
    "/meshes/{mesh}/dataplanes/{name}/stats",
    summary="The statistics of a dataplane's Envoy, in Envoy's text format",
    response_class=Response,
)
async def stats(ctx: Ctx, mesh: str, name: str) -> Response:
    return await _ask_envoy(ctx, mesh, name, AdminRequest(kind=STATS))


@router.get(
    "/meshes/{mesh}/dataplanes/{name}/clusters",
    summary="The clusters of a dataplane's Envoy and their endpoints, in Envoy's text format",
    response_class=Response,
)
async def clusters(ctx: Ctx, mesh: str, name: str) -> Response:
    return await _ask_envoy(ctx, mesh, name, AdminRequest(kind=CLUSTERS))


async def _ask_envoy(ctx: ApiContext, mesh: str, name: str, request: AdminRequest) -> Response:
    try:
        if ctx.envoy_admin is not None:
            answer = await ctx.envoy_admin.ask(mesh, name, request)
        else:
            answer = await _ask_its_zone(ctx, mesh, name, request)
    except AdminError as error:
        raise ApiError(error.status, HTTPStatus(error.status).phrase, error.detail) from None
    return Response(answer.body, media_type=answer.content_type or "text/plain")


async def _ask_its_zone(
    ctx: ApiContext, mesh: str, name: str, request: AdminRequest
) -> AdminAnswer:
    """On global: the dataplane synced from its zone, asked of that zone by its own name."""
    dataplane = await ctx.manager.store.get(ResourceKey("Dataplane", mesh, name))
    if dataplane is None:
        raise AdminError(NOT_FOUND, f"Dataplane {mesh}/{name} not found")
    zone = dataplane.labels.get(ZONE_LABEL)
    if ctx.zone_tunnels is None or not zone:
        raise ApiError(400, "Bad Request", "only a zone control plane reaches proxies")
    request.mesh, request.name = mesh, dataplane.labels.get(DISPLAY_NAME_LABEL, name)
    return await ctx.zone_tunnels.ask(zone, request)
