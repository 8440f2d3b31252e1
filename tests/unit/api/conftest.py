"""An in-process API over a real SQLite store, with admin and read-only clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from meshfabric.api.app import create_app
from meshfabric.api.auth import ADMIN_GROUP
from meshfabric.api.context import ApiContext
from meshfabric.cp.config import Settings
from meshfabric.resources import REGISTRY
from meshfabric.store.manager import ResourceManager
from meshfabric.store.sqlite import SqliteStore
from meshfabric.tokens import DATAPLANE, USER, ZONE, TokenIssuer

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[MakeClient]:
    """make_client(groups=..., **settings) -> a client of a fresh control plane API."""
    opened: list[tuple[SqliteStore, httpx.AsyncClient]] = []

    async def make(
        groups: tuple[str, ...] = (ADMIN_GROUP,), **settings: object
    ) -> httpx.AsyncClient:
        store = SqliteStore(tmp_path / f"api-{len(opened)}.db")
        users = TokenIssuer(store, USER)
        ctx = ApiContext(
            settings=Settings.model_validate({"data_dir": tmp_path, **settings}).for_api(),
            manager=ResourceManager(store),
            registry=REGISTRY,
            users=users,
            zones=TokenIssuer(store, ZONE),
            dataplanes=TokenIssuer(store, DATAPLANE),
            instance_id="test",
        )
        token = await users.issue({"name": "tester", "groups": list(groups)}, timedelta(hours=1))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(ctx)),
            base_url="http://cp",
            headers={"Authorization": f"Bearer {token}"},
        )
        opened.append((store, client))
        return client

    yield make
    for store, client in opened:
        await client.aclose()
        await store.close()


@pytest.fixture
async def api(make_client: MakeClient) -> httpx.AsyncClient:
    return await make_client()
