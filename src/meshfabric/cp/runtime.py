"""Start the control plane's components, keep them running, stop them in order."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import prometheus_client
import uvicorn

from meshfabric.api.app import create_app
from meshfabric.api.auth import ADMIN_GROUP
from meshfabric.api.context import ApiContext
from meshfabric.cp.config import Settings, StoreType
from meshfabric.resources import REGISTRY
from meshfabric.store.manager import ResourceManager
from meshfabric.store.postgres import PostgresStore
from meshfabric.store.sql import SqlStore
from meshfabric.store.sqlite import SqliteStore
from meshfabric.tokens import DATAPLANE, USER, ZONE, InvalidToken, TokenIssuer
from meshfabric.tokens.issuer import parse_duration

log = logging.getLogger(__name__)

ADMIN_TOKEN_LIFETIME = "87600h"  # ten years: the operator rotates it by deleting the file


async def open_store(settings: Settings) -> SqlStore:
    if settings.store.type is StoreType.POSTGRES:
        # Opening the pool connects to the database: keep that off the event loop.
        store = await asyncio.to_thread(
            PostgresStore, settings.store.postgres.dsn, settings.store.postgres.pool_size
        )
        await store.listen()
        return store
    return SqliteStore(settings.sqlite_path)


async def ensure_admin_token(users: TokenIssuer, path: Path) -> None:
    """Write an admin token on first start; keep a valid one, replace one that no longer is."""
    existing = await asyncio.to_thread(_read_token, path)
    if existing is not None:
        try:
            await users.verify(existing)
            return
        except InvalidToken as reason:
            log.warning("replacing the admin token in %s: %s", path, reason)
    token = await users.issue(
        {"name": "mesh-system:admin", "groups": [ADMIN_GROUP]}, parse_duration(ADMIN_TOKEN_LIFETIME)
    )
    await asyncio.to_thread(_write_private, path, token + "\n")
    log.info("wrote the admin token to %s", path)


def _read_token(path: Path) -> str | None:
    return path.read_text().strip() if path.exists() else None


def _write_private(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(content)


async def run(settings: Settings) -> None:
    async with AsyncExitStack() as stack:
        store = await open_store(settings)
        stack.push_async_callback(store.close)
        users = TokenIssuer(store, USER)
        await ensure_admin_token(users, settings.admin_token_path)
        ctx = ApiContext(
            settings=settings,
            manager=ResourceManager(store),
            registry=REGISTRY,
            users=users,
            zones=TokenIssuer(store, ZONE),
            dataplanes=TokenIssuer(store, DATAPLANE),
            instance_id=uuid.uuid4().hex[:12],
        )
        if settings.diagnostics.port:
            prometheus_client.start_http_server(
                settings.diagnostics.port, settings.diagnostics.address
            )
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(ctx),
                host=settings.api.address,
                port=settings.api.port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        _stop_on_signals(server)
        log.info(
            "control plane started",
            extra={"mode": settings.mode.value, "api_port": settings.api.port},
        )
        await server.serve()
        log.info("control plane stopping")


def _stop_on_signals(server: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()

    def stop() -> None:
        server.should_exit = True

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
