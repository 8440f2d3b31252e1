"""A proxy is served as the (mesh, name) its token was checked against, and nothing else.

Meshes `a` and `a.b` cannot be created any more (a mesh name has no dots), but a database
written before that rule may hold them: the proxy `b.c` of mesh `a` and the proxy `c` of
mesh `a.b` then spell the same joined name `a.b.c`, which once made them one proxy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from meshfabric.resources import Resource
from meshfabric.store.sqlite import SqliteStore
from meshfabric.tokens import DATAPLANE, TokenIssuer
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.types import SECRET
from tests.integration.dataplane.support import ZoneControlPlane, mtls_mesh, sidecar_dataplane
from tests.support.ads import AdsClient
from tests.support.net import free_port


async def _seed(path: Path, proxies: list[tuple[str, str, str]]) -> dict[str, str]:
    """Meshes and Dataplanes written straight into the database; a token per mesh."""
    store = SqliteStore(path)
    tokens = TokenIssuer(store, DATAPLANE)
    issued = {}
    try:
        for mesh, name, service in proxies:
            document = mtls_mesh(mesh)
            await store.put(Resource("Mesh", "", mesh, {"mtls": document["mtls"]}))
            dataplane = sidecar_dataplane(
                name, free_port(), free_port(), service, "http", mesh=mesh
            )
            await store.put(
                Resource("Dataplane", mesh, name, {"networking": dataplane["networking"]})
            )
            claims = {"tags": {"kuma.io/service": [service]}, "type": "dataplane"}
            issued[mesh] = await tokens.issue(claims, timedelta(hours=1), mesh)
    finally:
        await store.close()
    return issued


@pytest.fixture
def legacy_control_plane(tmp_path: Path) -> Iterator[tuple[ZoneControlPlane, dict[str, str]]]:
    cp = ZoneControlPlane(tmp_path / "cp")
    cp.data_dir.mkdir(parents=True)
    tokens = asyncio.run(
        _seed(cp.data_dir / "meshfabric.db", [("a", "b.c", "attacker"), ("a.b", "c", "victim")])
    )
    cp.start()
    yield cp, tokens
    cp.stop()


def test_a_proxy_never_receives_the_identity_of_another_mesh(
    legacy_control_plane: tuple[ZoneControlPlane, dict[str, str]],
) -> None:
    cp, tokens = legacy_control_plane
    socket = str(cp.xds_socket)
    wanted = [names.identity_secret("a"), names.identity_secret("a.b")]
    attacker = AdsClient(socket, tokens["a"], "a", "b.c").open(wanted)
    victim = AdsClient(socket, tokens["a.b"], "a.b", "c")
    try:
        attacker.wait_for(SECRET, names.identity_secret("a"))
        victim.open([names.identity_secret("a.b")])
        victim.wait_for(SECRET, names.identity_secret("a.b"))
        # Both would be told of the same snapshot at once: a moment is plenty.
        with pytest.raises(TimeoutError):
            attacker.wait_for(SECRET, names.identity_secret("a.b"), timeout=2)
    finally:
        attacker.close()
        victim.close()
    assert attacker.received(SECRET) == {names.identity_secret("a")}
