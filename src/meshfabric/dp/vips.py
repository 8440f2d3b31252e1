"""Make the mesh's VIP ranges local to this host, so Envoy can listen on any VIP.

A `local` route for each whole range on `lo` lets a socket bind to (and applications connect
to) any address in it without adding addresses one by one as services come and go, and
without iptables. It needs CAP_NET_ADMIN in the application's network namespace. Several
sidecars on one host share the routes (`meshfabric.dp.netns`): the last one to stop removes
them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from meshfabric.dataplane_api.mesh import VIP_RANGES
from meshfabric.dp.netns import RUN_DIR, HostChangeFailed, held, run_tool

log = logging.getLogger(__name__)


@asynccontextmanager
async def vip_routes(
    networks: Sequence[str] = tuple(str(net) for net in VIP_RANGES.values()),
    run_dir: Path = RUN_DIR,
) -> AsyncIterator[None]:
    """Route the VIP ranges to `lo` while the block runs; remove the routes afterwards,
    unless other sidecars in this network namespace still hold them."""

    async def add() -> None:
        for network in networks:
            await run_tool("ip", "route", "replace", "local", network, "dev", "lo")
        log.info("VIP ranges routed to lo: %s", ", ".join(networks))

    async def remove() -> None:
        for network in networks:
            try:
                await run_tool("ip", "route", "del", "local", network, "dev", "lo")
            except HostChangeFailed as problem:
                log.warning("could not remove the route for %s: %s", network, problem)

    async with held("vips", add, remove, run_dir):
        yield
