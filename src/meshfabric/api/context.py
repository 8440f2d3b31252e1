"""What the API handlers need from the running control plane."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from meshfabric.api.settings import ApiSettings
from meshfabric.kds.envoy_admin import ZoneTunnels
from meshfabric.resources import Registry
from meshfabric.store.errors import StoreHealth
from meshfabric.store.manager import ResourceManager
from meshfabric.tokens import TokenIssuer
from meshfabric.xds.admission.envoy_admin import EnvoyAdminTunnels
from meshfabric.xds.inspect import Inspector


@dataclass(frozen=True)
class ApiContext:
    settings: ApiSettings
    manager: ResourceManager
    registry: Registry
    users: TokenIssuer
    zones: TokenIssuer
    dataplanes: TokenIssuer
    instance_id: str
    inspector: Inspector | None = None  # None where no xDS is served (global mode)
    envoy_admin: EnvoyAdminTunnels | None = None  # likewise
    zone_tunnels: ZoneTunnels | None = None  # global only: forwards to a proxy's zone
    store_health: StoreHealth = field(default_factory=StoreHealth)


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx
