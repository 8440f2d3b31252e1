"""A federated zone serves its proxies only with the mesh CA global sends, never its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

from meshfabric.ca.builtin import ensure_root, root_secret_keys
from meshfabric.ca.identities import IdentityProvider
from meshfabric.resources import Resource
from meshfabric.store.sqlite import SqliteStore
from meshfabric.xds.cache.snapshot import SnapshotCache
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.types import SECRET
from meshfabric.xds.model.proxy import ProxyId
from tests.support.reconciler import ObservedReconciler
from tests.unit.policies.generation import dataplane

MTLS_MESH = Resource(
    "Mesh",
    "",
    "default",
    {"mtls": {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]}},
)
WEB = ProxyId("default", "web-1")


async def test_a_proxy_waits_for_globals_ca_and_then_gets_it(tmp_path: Path) -> None:
    zone = SqliteStore(tmp_path / "zone.db")
    elsewhere = SqliteStore(tmp_path / "global.db")  # stands in for what KDS brings
    for store in (zone, elsewhere):
        await store.put(MTLS_MESH)
    await zone.put(dataplane("web-1", "web", "http", 8080))
    cache = SnapshotCache()
    reconciler = ObservedReconciler(zone, cache, IdentityProvider(zone, creates_roots=False))
    running = asyncio.create_task(reconciler.run())
    try:
        reconciler.connect(WEB)
        await reconciler.settled()
        assert cache.get(WEB) is None  # no config rather than a certificate nobody else trusts
        for key in root_secret_keys("default", "ca-1"):
            assert await zone.get(key) is None

        global_root = await ensure_root(elsewhere, "default", "ca-1")
        for key in root_secret_keys("default", "ca-1"):
            synced = await elsewhere.get(key)
            assert synced is not None
            await zone.put(synced)
        await reconciler.settled()

        snapshot = cache.get(WEB)
        assert snapshot is not None
        ca = snapshot.of_type(SECRET)[names.ca_secret("default")]
        assert global_root.cert_pem in ca.body.value
    finally:
        running.cancel()
        await zone.close()
        await elsewhere.close()


async def test_a_standalone_zone_makes_the_root_itself(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "zone.db")
    try:
        root = await IdentityProvider(store).root("default", "ca-1")
        for key in root_secret_keys("default", "ca-1"):
            assert await store.get(key) is not None
        assert root.cert_pem.decode().startswith("-----BEGIN CERTIFICATE-----")
    finally:
        await store.close()
