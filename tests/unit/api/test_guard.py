"""The API's front door when the store behind the tokens fails."""

from __future__ import annotations

import pytest

from meshfabric.resources import Resource, ResourceKey
from meshfabric.store import StoreUnavailable
from meshfabric.store.sqlite import SqliteStore
from tests.unit.api.conftest import MakeClient


async def test_a_store_outage_while_checking_the_token_is_a_503_naming_the_cause(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await make_client()

    async def failing_get(self: SqliteStore, key: ResourceKey) -> Resource | None:
        raise StoreUnavailable("sqlite", OSError("disk I/O error"))

    monkeypatch.setattr(SqliteStore, "get", failing_get)
    answer = await api.get("/meshes")
    assert answer.status_code == 503
    assert "the sqlite database failed: OSError: disk I/O error" in answer.json()["detail"]
