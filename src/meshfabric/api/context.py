"""What the API handlers need from the running control plane."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from meshfabric.cp.config import Settings
from meshfabric.resources import Registry
from meshfabric.store.manager import ResourceManager
from meshfabric.tokens import TokenIssuer


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    manager: ResourceManager
    registry: Registry
    users: TokenIssuer
    zones: TokenIssuer
    dataplanes: TokenIssuer
    instance_id: str


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx
