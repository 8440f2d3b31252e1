"""xDS benchmark: meshfabric's ADS server against a minimal hand-written one, same process.

Prints, for each server: the time from a change to every proxy's ACK (p50/p99 across all
proxies and rounds; real Envoys plus simulated ADS clients), config generation time per
proxy in a mesh of many services (for meshfabric: a pass over every proxy right after a
change, divided by their number; and the proxy reaching every service alone), and
control-plane memory per connected proxy.

Both servers run side by side, each with its own Envoys and simulated clients, and their
rounds alternate: a round of meshfabric, then the same round of the baseline. Each ratio is
the median of the per-round (per-run, for generation) ratios, with their spread, so that a
burst of other work on a shared machine moves one round's ratio rather than all of one
server's figures. Memory is measured before that, each server's proxies connecting while
no other proxies are, as when the servers ran one after the other, once the server has
finished the work their connecting caused.

    python -m bench.xds_bench --services 1000 --envoys 50 --simulated 1000
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc

from bench.baseline_ads import BaselineAds, ProxySpec, build
from bench.header import print_header
from bench.mesh_load import (
    MESH,
    OUTBOUND_BASE_PORT,
    client_dataplane,
    proxy_address,
    service_dataplane,
)
from meshfabric.dataplane_api.node import envoy_node_id
from meshfabric.dp.address import ControlPlaneAddress
from meshfabric.dp.bootstrap import BootstrapParams, bootstrap, write_bootstrap
from meshfabric.dp.envoy import envoy_command
from meshfabric.resources import Resource
from meshfabric.store.manager import ResourceManager
from meshfabric.store.sqlite import SqliteStore
from meshfabric.tokens import DATAPLANE, TokenIssuer
from meshfabric.xds.component import Listen, XdsComponent
from meshfabric.xds.generate.profile import generate_snapshot
from meshfabric.xds.model.proxy_context import ProxyContext

TARGET = "svc-0"  # every proxy reaches it; its endpoints change each round


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def settle_memory() -> int:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap back, so RSS reflects use
    return rss_bytes()


def mesh_timeout(request_timeout: str) -> Resource:
    """A policy every proxy gets: each proxy's whole config is regenerated."""
    to = [{"targetRef": {"kind": "Mesh"}, "default": {"http": {"requestTimeout": request_timeout}}}]
    return Resource("MeshTimeout", MESH, "bench", {"targetRef": {"kind": "Mesh"}, "to": to})


def _node(name: str) -> str:
    """The node id the benchmark's Envoys and simulated clients report."""
    return envoy_node_id(MESH, name)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


class Load:
    """Real Envoys and a child process of simulated clients, aimed at one xDS socket."""

    def __init__(self, work: Path, socket: Path, token: str, envoys: int, simulated: int) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.envoy_nodes = [_node(f"client-{i}") for i in range(envoys)]
        self.simulated_nodes = [_node(f"client-{i}") for i in range(envoys, envoys + simulated)]
        self._work, self._socket, self._token = work, socket, token

    def start(self) -> None:
        self._work.mkdir(exist_ok=True)
        for index, node in enumerate(self.envoy_nodes):
            path = self._work / f"envoy-{index}.json"
            params = BootstrapParams(
                mesh=MESH,
                name=node.partition(".")[2],
                service="client",
                proxy_type="dataplane",
                token=self._token,
                control_plane=ControlPlaneAddress(unix_socket=str(self._socket)),
                admin_address={"pipe": {"path": str(self._work / f"envoy-{index}.admin")}},
            )
            write_bootstrap(path, bootstrap(params))
            self.processes.append(
                subprocess.Popen(
                    envoy_command(path, "error"),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        if self.simulated_nodes:
            command = [
                sys.executable,
                "-m",
                "bench.ads_clients",
                f"unix:{self._socket}",
                self._token,
            ]
            self.processes.append(subprocess.Popen([*command, *self.simulated_nodes]))

    @property
    def nodes(self) -> list[str]:
        return self.envoy_nodes + self.simulated_nodes

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait()


async def wait_for(
    condition: Callable[[], bool], seconds: float, what: str | Callable[[], str]
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            description = what if isinstance(what, str) else what()
            raise TimeoutError(f"gave up after {seconds}s waiting for {description}")
        await asyncio.sleep(0.01)


class AckClock:
    """When each proxy last acknowledged a complete push."""

    def __init__(self) -> None:
        self.acked: dict[str, float] = {}

    def record(self, node: str, at: float) -> None:
        self.acked[node] = at

    async def round(self, nodes: list[str], change: Callable[[], Awaitable[Any]]) -> list[float]:
        self.acked.clear()
        started = time.monotonic()
        await change()
        await wait_for(lambda: all(n in self.acked for n in nodes), 60, "every proxy to ACK")
        return [self.acked[n] - started for n in nodes]


@dataclass
class Figures:
    """One server's measurements: latencies per round, generation times per run."""

    endpoint_change: list[list[float]] = field(default_factory=list)
    policy_change: list[list[float]] = field(default_factory=list)
    generation_typical: list[float] = field(default_factory=list)
    generation_all: list[float] = field(default_factory=list)
    memory_per_proxy: float = 0.0


@dataclass
class Side:
    """One ADS server under test: how to time its generation, where its proxies connect,
    and the change each round makes (given the round's number)."""

    name: str
    socket: Path
    token: str
    generation_typical: Callable[[], float]  # seconds per proxy, one pass over them all
    generation_all: Callable[[], float]  # seconds, the proxy that reaches every service
    endpoint_change: Callable[[int], Awaitable[Any]]
    policy_change: Callable[[int], Awaitable[Any]]
    settled: Callable[[], bool] = lambda: True  # nothing left to do for its proxies
    clock: AckClock = field(default_factory=AckClock)
    figures: Figures = field(default_factory=Figures)


@asynccontextmanager
async def meshfabric_side(args: argparse.Namespace, work: Path) -> AsyncIterator[Side]:
    store = SqliteStore(work / "store.db")
    manager = ResourceManager(store)
    backend = {"name": "ca-1", "type": "builtin"}
    await manager.apply(
        Resource("Mesh", "", MESH, {"mtls": {"enabledBackend": "ca-1", "backends": [backend]}})
    )
    for index in range(args.services):
        await store.put(service_dataplane(index))
    proxies = args.envoys + args.simulated
    for index in range(proxies):
        await store.put(client_dataplane(index, args.outbounds))
    await store.put(client_dataplane(proxies, args.services))  # one proxy that reaches everything
    token = await TokenIssuer(store, DATAPLANE).issue(
        {"type": "dataplane"}, timedelta(hours=1), MESH
    )
    xds = XdsComponent(manager, TokenIssuer(store, DATAPLANE), "bench", debounce_seconds=0.02)
    socket = work / "xds.sock"
    await xds.start(Listen("127.0.0.1", 0, socket))
    context = await xds.reconciler.contexts.get(MESH)
    clients = [await _proxy_context(xds, context, f"client-{i}") for i in range(proxies)]
    alone = await _proxy_context(xds, context, f"client-{proxies}")

    async def move_endpoint(round_: int) -> None:
        await store.put(service_dataplane(0, port=9000 + round_))

    async def change_policy(round_: int) -> None:
        await manager.apply(mesh_timeout(f"{round_ + 1}s"))

    side = Side(
        "meshfabric",
        socket,
        token,
        partial(_generation_time, context, clients),
        partial(_generation_time, context, [alone]),
        move_endpoint,
        change_policy,
        settled=lambda: not xds.reconciler.busy,
    )
    xds.reconciler.delivery.listeners.append(
        lambda proxy, _: side.clock.record(envoy_node_id(proxy.mesh, proxy.name), time.monotonic())
    )
    try:
        yield side
    finally:
        await xds.stop()
        await store.close()


async def _proxy_context(xds: XdsComponent, context: Any, name: str) -> ProxyContext:
    found = await xds.reconciler.proxy_context(context, name)
    assert isinstance(found, ProxyContext)
    return found


def _generation_time(context: Any, proxies: list[ProxyContext]) -> float:
    """One proxy's share of regenerating `proxies` right after a mesh change: the first proxy
    with given inputs builds what it may share (the service index, endpoints, and with
    sharing its outbound clusters, routes and listeners), the others reuse it."""
    context.put(context.mesh.resource)  # what any change does: drop everything derived
    gc.collect()
    started = time.perf_counter()
    for proxy_context in proxies:
        generate_snapshot(proxy_context)
    return (time.perf_counter() - started) / len(proxies)


@asynccontextmanager
async def baseline_side(args: argparse.Namespace, work: Path) -> AsyncIterator[Side]:
    server = BaselineAds()
    proxies = args.envoys + args.simulated
    for index in range(args.services):
        server.endpoints[f"svc-{index}"] = [(f"127.2.{index // 250}.{index % 250 + 1}", 8080)]
    for index in range(proxies + 1):
        outbounds = args.services if index == proxies else args.outbounds
        spec = ProxySpec(
            _node(f"client-{index}"),
            proxy_address(index),
            tuple((OUTBOUND_BASE_PORT + k, f"svc-{k}") for k in range(outbounds)),
        )
        server.proxies[spec.node_id] = spec
    grpc_server = grpc.aio.server()
    ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(server, grpc_server)
    socket = work / "baseline.sock"
    grpc_server.add_insecure_port(f"unix:{socket}")
    await grpc_server.start()

    async def change(round_: int) -> None:
        server.change_endpoints(TARGET, [("127.2.0.1", 9000 + round_)])

    clients = [server.proxies[_node(f"client-{i}")] for i in range(proxies)]
    side = Side(
        "baseline",
        socket,
        "unused",
        partial(_baseline_generation, server, clients),
        partial(_baseline_generation, server, [server.proxies[_node(f"client-{proxies}")]]),
        change,
        change,  # the baseline knows no policies: any change is a full push to everyone
    )
    server.on_ack = side.clock.record
    try:
        yield side
    finally:
        await grpc_server.stop(grace=None)


def _baseline_generation(server: BaselineAds, proxies: list[ProxySpec]) -> float:
    gc.collect()
    started = time.perf_counter()
    for proxy in proxies:
        build(proxy, server.endpoints)
    return (time.perf_counter() - started) / len(proxies)


async def connect(side: Side, args: argparse.Namespace, directory: Path) -> Load:
    """Start Envoys and simulated clients for the side; wait until each has its config."""
    side.clock.acked.clear()
    load = Load(directory, side.socket, side.token, args.envoys, args.simulated)
    load.start()
    try:
        await wait_for(
            lambda: all(n in side.clock.acked for n in load.nodes),
            120,
            lambda: f"every proxy of {side.name} to connect: {_missing(side.clock, load)}",
        )
    except BaseException:
        load.stop()
        raise
    return load


SETTLE_SECONDS = 2.0  # after the last ACK, for the writes and requests that follow it


async def memory_per_proxy(side: Side, args: argparse.Namespace, work: Path) -> float:
    """What the side's proxies cost it: the growth while they connect, then they go."""
    before = settle_memory()
    load = await connect(side, args, work / f"{side.name}-memory")
    try:
        # Connected means as it stays: not while the last ACKs' follow-up work is under way.
        await wait_for(side.settled, 60, f"{side.name} to finish its work")
        await asyncio.sleep(SETTLE_SECONDS)
        return (settle_memory() - before) / len(load.nodes)
    finally:
        load.stop()
        await asyncio.sleep(2)  # let the server see them go before the next measurement


def _missing(clock: AckClock, load: Load) -> str:
    missing = [n for n in load.nodes if n not in clock.acked]
    return f"{len(missing)} have not, e.g. {', '.join(missing[:3])}"


async def measure(args: argparse.Namespace, work: Path) -> tuple[Figures, Figures]:
    """Every figure of both servers, their runs and rounds alternating."""
    loads: list[Load] = []
    async with meshfabric_side(args, work) as ours, baseline_side(args, work) as baseline:
        sides = (ours, baseline)
        for _ in range(args.generation_runs):
            for side in sides:
                side.figures.generation_typical.append(_least(side.generation_typical))
                side.figures.generation_all.append(_least(side.generation_all))
        # Memory as when the servers ran one after the other: each with no other proxies
        # connected, meshfabric first (the baseline may then reuse what meshfabric freed).
        for side in sides:
            side.figures.memory_per_proxy = await memory_per_proxy(side, args, work)
        try:
            for side in sides:
                loads.append(await connect(side, args, work / side.name))
            for round_ in range(args.rounds):
                for side, load in zip(sides, loads, strict=True):
                    endpoint_change = partial(side.endpoint_change, round_)
                    side.figures.endpoint_change.append(
                        await side.clock.round(load.nodes, endpoint_change)
                    )
                for side, load in zip(sides, loads, strict=True):
                    policy_change = partial(side.policy_change, round_)
                    side.figures.policy_change.append(
                        await side.clock.round(load.nodes, policy_change)
                    )
        finally:
            for load in loads:
                load.stop()
    return ours.figures, baseline.figures


# Each generation run times its pass this many times and keeps the least, as timeit
# advises: a slower repetition measured the other work on the machine, not the code.
GENERATION_REPEATS = 3


def _least(generation: Callable[[], float]) -> float:
    return min(generation() for _ in range(GENERATION_REPEATS))


@dataclass(frozen=True)
class Row:
    label: str
    mine: float
    theirs: float
    ratios: list[float]  # one per round or run

    def line(self) -> str:
        ratios = sorted(self.ratios)
        spread = f"{ratios[0]:.2f}-{ratios[-1]:.2f}" if len(ratios) > 1 else ""
        return (
            f"{self.label:40} {self.mine:12.2f} {self.theirs:12.2f}"
            f" {statistics.median(ratios):8.2f} {spread:>11}"
        )


def rows(args: argparse.Namespace, ours: Figures, baseline: Figures) -> list[Row]:
    result = [
        _latency_row(f"{kind} change-to-ACK p{round(q * 100)} (ms)", mine, theirs, q)
        for kind in ("endpoint", "policy")
        for q in (0.5, 0.99)
        for mine, theirs in [(getattr(ours, f"{kind}_change"), getattr(baseline, f"{kind}_change"))]
    ]
    result += [
        _generation_row(
            f"generation/proxy, {args.outbounds} outbounds (ms)",
            ours.generation_typical,
            baseline.generation_typical,
        ),
        _generation_row(
            f"generation, {args.services} outbounds (ms)",
            ours.generation_all,
            baseline.generation_all,
        ),
    ]
    mine, theirs = ours.memory_per_proxy / 1024, baseline.memory_per_proxy / 1024
    result.append(Row("memory per connected proxy (KiB)", mine, theirs, [_ratio(mine, theirs)]))
    return result


def _latency_row(label: str, mine: list[list[float]], theirs: list[list[float]], q: float) -> Row:
    """The percentile over every round's ACKs, and the ratio of each round's percentiles."""
    ratios = [_ratio(percentile(a, q), percentile(b, q)) for a, b in zip(mine, theirs, strict=True)]
    pooled = [percentile([t for each in rounds for t in each], q) for rounds in (mine, theirs)]
    return Row(label, pooled[0] * 1e3, pooled[1] * 1e3, ratios)


def _generation_row(label: str, mine: list[float], theirs: list[float]) -> Row:
    ratios = [_ratio(a, b) for a, b in zip(mine, theirs, strict=True)]
    return Row(label, statistics.median(mine) * 1e3, statistics.median(theirs) * 1e3, ratios)


def _ratio(mine: float, theirs: float) -> float:
    return mine / theirs if theirs else float("nan")


def report(args: argparse.Namespace, ours: Figures, baseline: Figures) -> None:
    print(
        f"\n{args.services} services; {args.envoys} Envoys + {args.simulated} simulated ADS"
        f" clients per server; {args.rounds} rounds of an endpoint change and of a policy"
        f" change, each reaching every proxy; {args.generation_runs} runs of generation"
    )
    print(f"{'':40} {'meshfabric':>12} {'baseline':>12} {'ratio':>8} {'spread':>11}")
    for row in rows(args, ours, baseline):
        print(row.line())
    print(
        "baseline: minimal hand-written delta ADS server in this process (no store, events, "
        "hashing, mTLS or policies; rebuilds and sends everything on every change)\n"
        "latencies: percentiles over all rounds; generation: medians over the runs (each the"
        f" least of {GENERATION_REPEATS} repetitions); ratio: "
        "the median of the per-round (per-run) ratios of the two servers, spread: their "
        "lowest and highest"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--outbounds", type=int, default=10, help="services each proxy reaches")
    parser.add_argument(
        "--envoys", type=int, default=10, help="real Envoy processes per server (up to 50)"
    )
    parser.add_argument(
        "--simulated", type=int, default=200, help="simulated ADS clients per server (up to 1000)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--generation-runs", type=int, default=15)
    args = parser.parse_args()
    print_header()
    with tempfile.TemporaryDirectory(prefix="xds-bench-") as directory:
        ours, baseline = await measure(args, Path(directory))
    report(args, ours, baseline)


if __name__ == "__main__":
    asyncio.run(main())
