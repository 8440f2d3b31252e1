"""Live revocation: how long from a write to the end of the open xDS streams it concerns.

Simulated delta ADS clients, each with a token of its own, connect to meshfabric's ADS server
(same process, over a Unix socket). Then every token is revoked in one write of the mesh's
revocation list, and the time from that write to the end of each stream is measured; the
same again for deleting each client's Dataplane. The target: within a second or two.

    python -m bench.revocation_bench --clients 200
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import grpc
import jwt

from bench.ads_clients import run_client
from bench.header import print_header
from bench.mesh_load import MESH, client_dataplane
from bench.xds_bench import percentile, wait_for
from meshfabric.resources import Resource, ResourceKey
from meshfabric.store.manager import ResourceManager
from meshfabric.store.sqlite import SqliteStore
from meshfabric.tokens import DATAPLANE, TokenIssuer
from meshfabric.xds.component import Listen, XdsComponent
from meshfabric.xds.model.proxy import ProxyId


async def _streams_until_end(socket: Path, tokens: list[str]) -> list[asyncio.Task[float]]:
    """One task per client: the monotonic time its stream ended."""
    channel = grpc.aio.insecure_channel(f"unix:{socket}")

    async def client(index: int) -> float:
        with contextlib.suppress(grpc.aio.AioRpcError):  # the end being measured
            await run_client(channel, tokens[index], f"{MESH}.client-{index}")
        return time.monotonic()

    return [asyncio.create_task(client(index)) for index in range(len(tokens))]


async def _round(
    xds: XdsComponent, socket: Path, tokens: list[str], change: Callable[[], Awaitable[None]]
) -> list[float]:
    ends = await _streams_until_end(socket, tokens)
    proxies = [ProxyId(MESH, f"client-{index}") for index in range(len(tokens))]
    await wait_for(
        lambda: all(xds.insights.connected_since(proxy) for proxy in proxies),
        60,
        "every client to connect",
    )
    started = time.monotonic()
    await change()
    return [await end - started for end in ends]


async def bench(clients: int, work: Path) -> None:
    store = SqliteStore(work / "store.db")
    manager = ResourceManager(store)
    await manager.apply(Resource("Mesh", "", MESH, {}))
    for index in range(clients):
        await store.put(client_dataplane(index, 1))
    issuer = TokenIssuer(store, DATAPLANE)
    tokens = [
        await issuer.issue({"type": "dataplane"}, timedelta(hours=1), MESH) for _ in range(clients)
    ]
    xds = XdsComponent(manager, issuer, "bench", debounce_seconds=0.02)
    socket = work / "xds.sock"
    await xds.start(Listen("127.0.0.1", 0, socket))
    try:
        jtis = ",".join(jwt.decode(t, options={"verify_signature": False})["jti"] for t in tokens)
        revocations = Resource(
            "Secret",
            MESH,
            "dataplane-token-revocations",
            {"data": base64.b64encode(jtis.encode()).decode()},
        )

        async def revoke_all() -> None:
            await manager.apply(revocations)

        revoked = await _round(xds, socket, tokens, revoke_all)
        await store.delete(revocations.key)
        fresh = [
            await issuer.issue({"type": "dataplane"}, timedelta(hours=1), MESH)
            for _ in range(clients)
        ]

        async def delete_all() -> None:
            for index in range(clients):
                await store.delete(ResourceKey("Dataplane", MESH, f"client-{index}"))

        deleted = await _round(xds, socket, fresh, delete_all)
    finally:
        await xds.stop()
        await store.close()
    for what, seconds in (("token revoked", revoked), ("Dataplane deleted", deleted)):
        print(
            f"{what:>18}: write to stream end p50 {percentile(seconds, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(seconds, 0.99) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms "
            f"({clients} streams)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    args = parser.parse_args()
    print_header()
    logging.getLogger("meshfabric").setLevel(logging.ERROR)  # one warning per ended stream
    with tempfile.TemporaryDirectory(prefix="revocation-bench-") as work:
        asyncio.run(bench(args.clients, Path(work)))


if __name__ == "__main__":
    main()
