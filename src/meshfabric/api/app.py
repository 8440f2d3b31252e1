"""Assemble the FastAPI application from the routers."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from meshfabric import __version__
from meshfabric.api import errors, inspect, monitoring, overview, resources, system
from meshfabric.api.context import ApiContext
from meshfabric.api.guard import RequestGuard
from meshfabric.metrics import API_REQUEST_SECONDS


def create_app(ctx: ApiContext) -> FastAPI:
    app = FastAPI(
        title="meshfabric control plane API",
        version=__version__,
        description="Kuma 2.x compatible REST API of the meshfabric control plane.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.ctx = ctx
    errors.install(app)
    app.include_router(system.public)
    app.include_router(system.router)
    app.include_router(inspect.router)
    # Before the Dataplane routes, where `_overview` would read as a dataplane's name.
    app.include_router(overview.router)
    app.include_router(monitoring.router)
    for rtype in ctx.registry:
        app.include_router(resources.router_for(rtype))
    # The guard answers unauthenticated requests before any route reads a body.
    app.add_middleware(
        RequestGuard,
        users=ctx.users,
        max_body_bytes=ctx.settings.max_body_bytes,
        max_per_client=ctx.settings.max_concurrent_per_client,
    )
    app.middleware("http")(_measure)
    return app


async def _measure(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    template = getattr(route, "path", "unmatched")
    API_REQUEST_SECONDS.labels(request.method, template, str(response.status_code)).observe(
        time.perf_counter() - started
    )
    return response
