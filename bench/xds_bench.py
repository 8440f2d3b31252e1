"""xDS benchmark: meshfabric's ADS server against a minimal hand-written one, same process.

Prints, for each server: the time from a change to every proxy's ACK (p50/p99 across all
proxies and rounds; real Envoys plus simulated ADS clients), config generation time per
proxy in a mesh of many services (for meshfabric: a pass over every proxy right after a
change, divided by their number; and the proxy reaching every service alone), and
control-plane memory per connected proxy.

    python -m bench.xds_bench --services 1000 --envoys 50 --simulated 1000
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
from collections.abc import Awaitable, Callable
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


@dataclass
class Figures:
    endpoint_change: list[float] = field(default_factory=list)
    policy_change: list[float] = field(default_factory=list)
    generation_typical: float = 0.0
    generation_all: float = 0.0
    memory_per_proxy: float = 0.0


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


async def bench_meshfabric(args: argparse.Namespace, work: Path) -> Figures:
    figures = Figures()
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
    clients = [f"client-{index}" for index in range(proxies)]
    figures.generation_typical = await _generation_time(xds, context, clients)
    figures.generation_all = await _generation_time(xds, context, [f"client-{proxies}"])

    clock = AckClock()
    xds.reconciler.delivery.listeners.append(
        lambda proxy, _: clock.record(envoy_node_id(proxy.mesh, proxy.name), time.monotonic())
    )
    before = settle_memory()
    load = Load(work, socket, token, args.envoys, args.simulated)
    load.start()
    try:
        await wait_for(
            lambda: all(n in clock.acked for n in load.nodes),
            120,
            lambda: f"every proxy to connect: {_missing(clock, load)}",
        )
        figures.memory_per_proxy = (settle_memory() - before) / len(load.nodes)
        for round_ in range(args.rounds):
            moved = service_dataplane(0, port=9000 + round_)
            figures.endpoint_change += await clock.round(load.nodes, partial(store.put, moved))
            timeout = mesh_timeout(f"{round_ + 1}s")
            figures.policy_change += await clock.round(load.nodes, partial(manager.apply, timeout))
    finally:
        load.stop()
        await xds.stop()
        await store.close()
    return figures


def _missing(clock: AckClock, load: Load) -> str:
    missing = [n for n in load.nodes if n not in clock.acked]
    return f"{len(missing)} have not, e.g. {', '.join(missing[:3])}"


async def _generation_time(xds: XdsComponent, context: Any, names: list[str]) -> float:
    """One proxy's share of regenerating `names` right after a mesh change: the first proxy
    with given inputs builds what it may share (the service index, endpoints, and with
    sharing its outbound clusters, routes and listeners), the others reuse it."""
    contexts = [await xds.reconciler.proxy_context(context, name) for name in names]
    runs = 3
    total = 0.0
    for _ in range(runs):
        context.put(context.mesh.resource)  # what any change does: drop everything derived
        started = time.perf_counter()
        for proxy_context in contexts:
            assert isinstance(proxy_context, ProxyContext)
            generate_snapshot(proxy_context)
        total += time.perf_counter() - started
    return total / runs / len(names)


async def bench_baseline(args: argparse.Namespace, work: Path) -> Figures:
    figures = Figures()
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
    figures.generation_typical = _baseline_generation(server, _node("client-0"))
    figures.generation_all = _baseline_generation(server, _node(f"client-{proxies}"))

    grpc_server = grpc.aio.server()
    ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(server, grpc_server)
    socket = work / "baseline.sock"
    grpc_server.add_insecure_port(f"unix:{socket}")
    await grpc_server.start()
    clock = AckClock()
    server.on_ack = clock.record
    before = settle_memory()
    load = Load(work, socket, "unused", args.envoys, args.simulated)
    load.start()
    try:
        await wait_for(
            lambda: all(n in clock.acked for n in load.nodes),
            120,
            lambda: f"every proxy to connect: {_missing(clock, load)}",
        )
        figures.memory_per_proxy = (settle_memory() - before) / len(load.nodes)
        for round_ in range(args.rounds):
            endpoints = [("127.2.0.1", 9000 + round_)]
            change = partial(_change_now, server, endpoints)
            # The baseline knows no policies: any change is a full push to everyone.
            figures.endpoint_change += await clock.round(load.nodes, change)
            figures.policy_change += await clock.round(load.nodes, change)
    finally:
        load.stop()
        await grpc_server.stop(grace=None)
    return figures


async def _change_now(server: BaselineAds, endpoints: list[tuple[str, int]]) -> None:
    server.change_endpoints(TARGET, endpoints)


def _baseline_generation(server: BaselineAds, node: str) -> float:
    runs = 20
    started = time.perf_counter()
    for _ in range(runs):
        build(server.proxies[node], server.endpoints)
    return (time.perf_counter() - started) / runs


def report(args: argparse.Namespace, ours: Figures, baseline: Figures) -> None:
    rows = [
        (f"{kind} change-to-ACK p{round(q * 100)} (ms)", mine, theirs)
        for kind in ("endpoint", "policy")
        for q in (0.5, 0.99)
        for mine, theirs in [_latency(ours, baseline, f"{kind}_change", q)]
    ]
    rows += [
        (
            f"generation/proxy, {args.outbounds} outbounds (ms)",
            *_ms(ours, baseline, "generation_typical"),
        ),
        (f"generation, {args.services} outbounds (ms)", *_ms(ours, baseline, "generation_all")),
        (
            "memory per connected proxy (KiB)",
            ours.memory_per_proxy / 1024,
            baseline.memory_per_proxy / 1024,
        ),
    ]
    print(
        f"\n{args.services} services; {args.envoys} Envoys + {args.simulated} simulated ADS"
        f" clients; {args.rounds} rounds of an endpoint change and of a policy change, each"
        " reaching every proxy"
    )
    print(f"{'':40} {'meshfabric':>12} {'baseline':>12} {'ratio':>8}")
    for label, mine, theirs in rows:
        ratio = mine / theirs if theirs else float("nan")
        print(f"{label:40} {mine:12.2f} {theirs:12.2f} {ratio:8.2f}")
    print(
        "baseline: minimal hand-written delta ADS server in this process (no store, events, "
        "hashing, mTLS or policies; rebuilds and sends everything on every change)"
    )


def _latency(ours: Figures, baseline: Figures, attribute: str, q: float) -> tuple[float, float]:
    return (
        percentile(getattr(ours, attribute), q) * 1e3,
        percentile(getattr(baseline, attribute), q) * 1e3,
    )


def _ms(ours: Figures, baseline: Figures, attribute: str) -> tuple[float, float]:
    return getattr(ours, attribute) * 1e3, getattr(baseline, attribute) * 1e3


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--outbounds", type=int, default=10, help="services each proxy reaches")
    parser.add_argument("--envoys", type=int, default=10, help="real Envoy processes (up to 50)")
    parser.add_argument(
        "--simulated", type=int, default=200, help="simulated ADS clients (up to 1000)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print_header()
    with tempfile.TemporaryDirectory(prefix="xds-bench-") as directory:
        work = Path(directory)
        ours = await bench_meshfabric(args, work)
        settle_memory()
        baseline = await bench_baseline(args, work)
    report(args, ours, baseline)


if __name__ == "__main__":
    asyncio.run(main())
