"""Changes to this host's network namespace that several sidecars there share (routes for
the VIP ranges, the DNS redirect).

Each sidecar holds a change while it runs (a file named after its PID in a directory per
network namespace and change, under a lock), and the last one to stop undoes it. A holder
that died without saying so no longer counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

log = logging.getLogger(__name__)

RUN_DIR = Path("/run/meshfabric-dp")


class HostChangeFailed(Exception):
    """A command that changes the host's network namespace failed; the message says which."""


@asynccontextmanager
async def held(
    change: str,
    apply: Callable[[], Awaitable[None]],
    undo: Callable[[], Awaitable[None]],
    run_dir: Path = RUN_DIR,
) -> AsyncIterator[None]:
    """`apply` the change (again: it must be idempotent) and hold it while the block runs;
    `undo` it afterwards unless other sidecars in this network namespace still hold it."""
    holders = run_dir / f"{change}-netns-{os.stat('/proc/self/ns/net').st_ino}"
    me = holders / str(os.getpid())
    with _locked(holders):
        try:
            await apply()
        except HostChangeFailed:
            if not _live_holders(holders):
                await undo()
            raise
        me.touch()
    try:
        yield
    finally:
        with _locked(holders):
            me.unlink(missing_ok=True)
            others = _live_holders(holders)
            if others:
                log.info("%s kept: %d other sidecar(s) here use it", change, others)
            else:
                await undo()


async def run_tool(*argv: str, stdin: bytes | None = None) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, error = await process.communicate(stdin)
    if process.returncode != 0:
        raise HostChangeFailed(f"{' '.join(argv)}: {error.decode().strip()}")


@contextlib.contextmanager
def _locked(holders: Path) -> Iterator[None]:
    holders.mkdir(parents=True, exist_ok=True)
    with (holders / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held for a few commands at most
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
