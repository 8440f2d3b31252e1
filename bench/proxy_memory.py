"""What the control plane holds per connected proxy, by allocation site (tracemalloc).

Starts meshfabric's xDS server on a mesh of many services, connects a few simulated ADS
clients to warm what proxies share, then compares a tracemalloc snapshot taken before and
after `--proxies` more clients connected and ACKed, and prints the growth per proxy by file
and by line. Python allocations only (no gRPC core or protobuf C++ arenas), so it explains
rather than replaces xds_bench's RSS figure. Before that, as many other proxies connect
without tracing, and the growth of the heap in use (glibc's malloc, all threads) tells what
the Python figure leaves out: gRPC's and protobuf's memory, and Python's larger objects.
Uses only APIs older trees have too, so

    PYTHONPATH=<other worktree>/src:. python -m bench.proxy_memory --proxies 300

measures another commit with the same script.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import meshfabric
from bench.header import print_header
from bench.mesh_load import MESH, client_dataplane, service_dataplane
from meshfabric.resources import Resource
from meshfabric.store.manager import ResourceManager
from meshfabric.store.sqlite import SqliteStore
from meshfabric.tokens import DATAPLANE, TokenIssuer
from meshfabric.xds.component import Listen, XdsComponent

WARM_PROXIES = 5


class Connections:
    """Simulated ADS clients in child processes, and which proxies have ACKed a push."""

    def __init__(self, socket: Path, token: str) -> None:
        self.acked: set[Any] = set()
        self.processes: list[subprocess.Popen[bytes]] = []
        self._socket, self._token = socket, token

    def record(self, proxy: Any, *_: Any) -> None:
        self.acked.add(proxy)

    async def connect(self, names: list[str]) -> None:
        expected = len(self.acked) + len(names)
        nodes = [f"{MESH}.{name}" for name in names]
        command = [sys.executable, "-m", "bench.ads_clients", f"unix:{self._socket}", self._token]
        self.processes.append(subprocess.Popen([*command, *nodes]))  # noqa: ASYNC220
        deadline = time.monotonic() + 300
        while len(self.acked) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expected - len(self.acked)} proxies never ACKed")
            await asyncio.sleep(0.05)
        await asyncio.sleep(1)  # let the last ACKs' follow-up requests settle

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait()


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            *("arena", "ordblks", "smblks", "hblks", "hblkhd"),
            *("usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"),
        )
    ]


def heap_in_use() -> int:
    """Bytes malloc has handed out and not had back, in every arena and mmap."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


async def measure(args: argparse.Namespace, work: Path) -> tuple[Growth, float]:
    """What connecting args.proxies more proxies added: by site, and to the heap per proxy."""
    store = SqliteStore(work / "store.db")
    manager = ResourceManager(store)
    backend = {"name": "ca-1", "type": "builtin"}
    await manager.apply(
        Resource("Mesh", "", MESH, {"mtls": {"enabledBackend": "ca-1", "backends": [backend]}})
    )
    for index in range(args.services):
        await store.put(service_dataplane(index))
    for index in range(WARM_PROXIES + 2 * args.proxies):
        await store.put(client_dataplane(index, args.outbounds))
    token = await TokenIssuer(store, DATAPLANE).issue(
        {"type": "dataplane"}, timedelta(hours=1), MESH
    )
    xds = XdsComponent(manager, TokenIssuer(store, DATAPLANE), "bench", debounce_seconds=0.02)
    socket = work / "xds.sock"
    await xds.start(Listen("127.0.0.1", 0, socket))
    connections = Connections(socket, token)
    xds.reconciler.delivery.listeners.append(connections.record)
    try:
        await connections.connect([f"client-{i}" for i in range(WARM_PROXIES)])
        gc.collect()
        heap_before = heap_in_use()
        untraced = range(WARM_PROXIES + args.proxies, WARM_PROXIES + 2 * args.proxies)
        await connections.connect([f"client-{i}" for i in untraced])
        gc.collect()
        heap = (heap_in_use() - heap_before) / args.proxies
        tracemalloc.start(FRAMES)
        before = tracemalloc.take_snapshot()
        names = [f"client-{i}" for i in range(WARM_PROXIES, WARM_PROXIES + args.proxies)]
        await connections.connect(names)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
    finally:
        connections.stop()
        await xds.stop()
        await store.close()
    return Growth(after, before), heap


FRAMES = 30


class Growth:
    """Per allocation site: bytes and blocks the measured proxies added. A site is the line
    that allocated and, when that is outside meshfabric, the meshfabric line that led there."""

    def __init__(self, after: tracemalloc.Snapshot, before: tracemalloc.Snapshot) -> None:
        ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
        self.diffs = after.filter_traces(ignore).compare_to(
            before.filter_traces(ignore), "traceback"
        )

    def by(self, site: Callable[[tracemalloc.Traceback], str]) -> list[tuple[str, int, int]]:
        sizes: dict[str, list[int]] = {}
        for diff in self.diffs:
            entry = sizes.setdefault(site(diff.traceback), [0, 0])
            entry[0] += diff.size_diff
            entry[1] += diff.count_diff
        return sorted(((k, size, count) for k, (size, count) in sizes.items()), key=lambda r: -r[1])


def _short(frame: tracemalloc.Frame) -> str:
    parts = Path(frame.filename).parts
    for anchor in ("meshfabric", "site-packages", "bench"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + (anchor == "site-packages") :])
    python = next((p for p in parts if p.startswith("python3")), None)
    return "/".join(parts[parts.index(python) + 1 :]) if python else frame.filename


def _own(traceback: tracemalloc.Traceback) -> tracemalloc.Frame | None:
    """The innermost meshfabric frame (tracebacks run from the oldest frame)."""
    return next((f for f in reversed(traceback) if "/meshfabric/" in f.filename), None)


def by_file(traceback: tracemalloc.Traceback) -> str:
    own = _own(traceback)
    return _short(own) if own is not None else f"(no meshfabric frame) {_short(traceback[-1])}"


def by_line(traceback: tracemalloc.Traceback) -> str:
    inner, own = traceback[-1], _own(traceback)
    where = f"{_short(inner)}:{inner.lineno}"
    if own is not None and own != inner:
        where += f"  <- {_short(own)}:{own.lineno}"
    return where


def report(growth: Growth, heap: float, proxies: int, top: int) -> None:
    print(f"Heap in use per proxy, untraced (malloc, all threads): {heap / 1024:.2f} KiB")
    for site, title in ((by_file, "by meshfabric file"), (by_line, "by line")):
        rows = growth.by(site)
        total = sum(size for _, size, _ in rows)
        print(f"\nPython allocations per proxy, {title} (total {total / proxies / 1024:.2f} KiB)")
        print(f"{'bytes/proxy':>12} {'blocks/proxy':>13}  site")
        for where, size, count in rows[:top]:
            print(f"{size / proxies:12.0f} {count / proxies:13.1f}  {where}")


def _measured_source() -> str:
    """Which tree's meshfabric ran: PYTHONPATH may point at another worktree than bench's."""
    source = Path(meshfabric.__file__).parent
    found = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=source
    )
    return f"{source} at {found.stdout.strip() or 'unknown commit'}"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--outbounds", type=int, default=10, help="services each proxy reaches")
    parser.add_argument("--proxies", type=int, default=300, help="simulated ADS clients measured")
    parser.add_argument("--top", type=int, default=25, help="sites to print per grouping")
    args = parser.parse_args()
    print_header()
    print(f"# measured meshfabric: {_measured_source()}\n")
    with tempfile.TemporaryDirectory(prefix="proxy-memory-") as directory:
        growth, heap = await measure(args, Path(directory))
    report(growth, heap, args.proxies, args.top)


if __name__ == "__main__":
    asyncio.run(main())
