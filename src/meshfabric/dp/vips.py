"""Make the mesh's VIP ranges local to this host, so Envoy can listen on any VIP.

A `local` route for each whole range on `lo` lets a socket bind to (and applications connect
to) any address in it without adding addresses one by one as services come and go, and
without iptables. It needs CAP_NET_ADMIN in the application's network namespace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from meshfabric.ipam import RANGES

log = logging.getLogger(__name__)


class RouteError(Exception):
    pass


@asynccontextmanager
async def vip_routes(
    networks: Sequence[str] = tuple(str(net) for net in RANGES.values()),
) -> AsyncIterator[None]:
    """Route the VIP ranges to `lo` while the block runs; remove the routes afterwards."""
    added: list[str] = []
    try:
        for network in networks:
            await _ip("route", "replace", "local", network, "dev", "lo")
            added.append(network)
        log.info("VIP ranges routed to lo: %s", ", ".join(added))
        yield
    finally:
        for network in added:
            try:
                await _ip("route", "del", "local", network, "dev", "lo")
            except RouteError as problem:
                log.warning("could not remove the route for %s: %s", network, problem)


async def _ip(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, error = await process.communicate()
    if process.returncode != 0:
        raise RouteError(f"ip {' '.join(args)}: {error.decode().strip()}")
