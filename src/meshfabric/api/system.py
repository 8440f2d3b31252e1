"""Index, configuration, the type catalogue, tokens and zone overviews."""

import copy
import enum
import socket
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from meshfabric import __version__
from meshfabric.api.context import ApiContext, context
from meshfabric.api.errors import ApiError
from meshfabric.insights.zones import zone_proxies
from meshfabric.resources import KdsFlow, Parsed, ResourceKey, ResourceType
from meshfabric.resources.types.mesh import MeshFields
from meshfabric.resources.types.zone import ZoneFields
from meshfabric.store import MeshNotFound
from meshfabric.tokens import parse_duration

Ctx = Annotated[ApiContext, Depends(context)]

public = APIRouter(tags=["System"])
router = APIRouter(tags=["System"])


class ZoneScope(enum.StrEnum):
    CP = "cp"
    INGRESS = "ingress"
    EGRESS = "egress"


class _TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    validFor: str = Field(
        "24h", description="Lifetime (Go duration): 30m, 24h, 8760h; at most 87600h"
    )

    @field_validator("validFor")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class UserTokenRequest(_TokenRequest):
    name: str = Field(min_length=1)
    groups: list[str] = Field(default_factory=list)


class ZoneTokenRequest(_TokenRequest):
    zone: str = Field(min_length=1)
    scope: list[ZoneScope] = Field(default_factory=lambda: [ZoneScope.CP])


class DataplaneTokenRequest(_TokenRequest):
    mesh: str = Field("default", min_length=1)
    name: str | None = None
    tags: dict[str, list[str]] = Field(default_factory=dict)
    type: Literal["dataplane", "ingress", "egress"] = "dataplane"


@public.get("/", summary="Control-plane identity")
async def index(ctx: Ctx) -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "tagline": "meshfabric",
        "product": "meshfabric",
        "version": __version__,
        "basedOnKuma": "2.9",
        "instanceId": ctx.instance_id,
        "mode": ctx.settings.mode,
        "zone": ctx.settings.zone if ctx.settings.mode == "zone" else None,
    }


@public.get(
    "/ready",
    summary="Whether the control plane can serve: 200, or 503 with the store's failure",
    responses={503: {"description": "The store failed; the detail says how"}},
)
async def ready(ctx: Ctx) -> dict[str, str]:
    # A read checks that the database answers at all; a failed write is remembered until a
    # write succeeds, since a read-only or full database still answers reads.
    await ctx.manager.store.get(ResourceKey("Mesh", "", "default"))
    if ctx.store_health.failure is not None:
        raise ApiError(503, "Service Unavailable", ctx.store_health.failure)
    return {"status": "ready"}


@router.get("/config", summary="The running configuration (secrets redacted)")
async def config(ctx: Ctx) -> dict[str, Any]:
    settings = copy.deepcopy(dict(ctx.settings.config))
    if settings["store"]["postgres"]["dsn"]:
        settings["store"]["postgres"]["dsn"] = "*****"
    return settings


@router.get("/_resources", summary="Every resource type this control plane serves")
async def resource_types(ctx: Ctx) -> dict[str, Any]:
    return {
        "resources": [
            {
                "name": rtype.name,
                "singularDisplayName": rtype.singular_display_name,
                "pluralDisplayName": rtype.plural_display_name,
                "path": rtype.plural,
                "scope": rtype.scope.value,
                "readOnly": False,
                "shortName": rtype.short_name,
                "hasSpec": rtype.has_spec,
                "applyOrder": rtype.apply_order,
                "sensitive": rtype.sensitive,
                "affects": rtype.affects.value,
                "policy": _policy(rtype) if rtype.is_policy else None,
                "kdsFlags": [flag.name for flag in KdsFlow if flag in rtype.kds],
            }
            for rtype in ctx.registry
        ]
    }


def _policy(rtype: ResourceType) -> dict[str, Any]:
    # A policy without an Envoy plugin is stored, validated and synced, but shapes no proxy.
    return {"isTargetRef": True, "hasEnvoyPlugin": rtype.has_envoy_plugin}


@router.post("/tokens/user", response_class=PlainTextResponse, summary="Issue a user token")
async def user_token(ctx: Ctx, request: UserTokenRequest) -> str:
    claims = {"name": request.name, "groups": request.groups}
    return await ctx.users.issue(claims, parse_duration(request.validFor))


@router.post("/tokens/zone", response_class=PlainTextResponse, summary="Issue a zone token")
async def zone_token(ctx: Ctx, request: ZoneTokenRequest) -> str:
    if ctx.settings.federated:
        # A key made here would stand in for global's: zone tokens verify with global's.
        raise ApiError(
            400,
            "Bad Request",
            "zone tokens are issued by the global control plane, and this is one of its "
            "zones: run meshctl generate zone-token against global",
        )
    claims = {"zone": request.zone, "scope": request.scope}
    return await ctx.zones.issue(claims, parse_duration(request.validFor))


@router.post(
    "/tokens/dataplane", response_class=PlainTextResponse, summary="Issue a dataplane token"
)
async def dataplane_token(ctx: Ctx, request: DataplaneTokenRequest) -> str:
    # A token for a mesh yet to be made would start working the day someone makes it.
    if await ctx.manager.store.get(ResourceKey("Mesh", "", request.mesh)) is None:
        raise MeshNotFound(request.mesh)
    claims: dict[str, Any] = {"tags": request.tags, "type": request.type}
    if request.name:
        claims["name"] = request.name
    return await ctx.dataplanes.issue(claims, parse_duration(request.validFor), request.mesh)


@router.get("/zones/_overview", summary="Zones with their sync insights")
async def zones_overview(ctx: Ctx) -> dict[str, Any]:
    store = ctx.manager.store
    page = await store.list("Zone", "")
    ingresses = (await store.list("ZoneIngress", "")).items
    egresses = (await store.list("ZoneEgress", "")).items
    meshes = [Parsed.of(mesh, MeshFields) for mesh in (await store.list("Mesh", "")).items]
    items = []
    for zone in page.items:
        insight = await store.get(ResourceKey("ZoneInsight", "", zone.name))
        items.append(
            {
                "type": "ZoneOverview",
                "name": zone.name,
                "zone": {"enabled": Parsed.of(zone, ZoneFields).fields.enabled is not False},
                "zoneInsight": insight.spec if insight else {"subscriptions": []},
                **zone_proxies(zone.name, ingresses, egresses, meshes),
            }
        )
    return {"total": len(items), "items": items, "next": None}
