"""Make the mesh's VIP ranges local to this host, so Envoy can listen on any VIP.

A `local` route for each whole range on `lo` lets a socket bind to (and applications connect
to) any address in it without adding addresses one by one as services come and go, and
without iptables. It needs CAP_NET_ADMIN in the application's network namespace.

Several sidecars on one host share the routes: each one holds them while it runs (a file
named after its PID in a directory per network namespace, under a lock), and the last one
to stop removes them. A holder that died without saying so no longer counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from meshfabric.dataplane_api.mesh import VIP_RANGES

log = logging.getLogger(__name__)

RUN_DIR = Path("/run/meshfabric-dp")


class RouteError(Exception):
    pass


@asynccontextmanager
async def vip_routes(
    networks: Sequence[str] = tuple(str(net) for net in VIP_RANGES.values()),
    run_dir: Path = RUN_DIR,
) -> AsyncIterator[None]:
    """Route the VIP ranges to `lo` while the block runs; remove the routes afterwards,
    unless other sidecars in this network namespace still hold them."""
    holders = run_dir / f"vips-netns-{os.stat('/proc/self/ns/net').st_ino}"
    me = holders / str(os.getpid())
    with _locked(holders):
        try:
            for network in networks:
                await _ip("route", "replace", "local", network, "dev", "lo")
        except RouteError:
            if not _live_holders(holders):
                await _remove(networks)
            raise
        me.touch()
    log.info("VIP ranges routed to lo: %s", ", ".join(networks))
    try:
        yield
    finally:
        with _locked(holders):
            me.unlink(missing_ok=True)
            others = _live_holders(holders)
            if others:
                log.info("VIP routes kept: %d other sidecar(s) here use them", others)
            else:
                await _remove(networks)


async def _remove(networks: Sequence[str]) -> None:
    for network in networks:
        try:
            await _ip("route", "del", "local", network, "dev", "lo")
        except RouteError as problem:
            log.warning("could not remove the route for %s: %s", network, problem)


@contextlib.contextmanager
def _locked(holders: Path) -> Iterator[None]:
    holders.mkdir(parents=True, exist_ok=True)
    with (holders / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held for a few `ip` calls at most
        yield


def _live_holders(holders: Path) -> int:
    """How many holders still run; the files of those that do not are removed."""
    alive = 0
    for entry in holders.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            os.kill(int(entry.name), 0)
        except ProcessLookupError:
            entry.unlink(missing_ok=True)
            continue
        except PermissionError:
            pass  # someone else's process: alive
        alive += 1
    return alive


async def _ip(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, error = await process.communicate()
    if process.returncode != 0:
        raise RouteError(f"ip {' '.join(args)}: {error.decode().strip()}")
