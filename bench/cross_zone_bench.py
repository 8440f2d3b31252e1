"""Cross-zone benchmark: what the ingress and egress hops cost, and a zone's ingress config.

Prints, from one run:
1. requests/s and p50/p99 latency (`wrk`, fixed connections) from a client sidecar to a
   service: in the same zone, in another zone through its ingress, and through the zone's
   egress then the other zone's ingress; beside the same hops made by plain Envoys with a
   hand-written static config (`bench/cross_zone_baseline.py`), and the ratios. The mesh's
   proxies are real Envoys run by meshfabric-dp, served by one in-process xDS server per
   zone, each zone with its own SQLite store holding what KDS would have synced from the
   other (the other zone's ZoneIngress and MeshService, the mesh's CA). Rounds alternate,
   meshfabric then the baseline, and each ratio is the median of the per-round ratios, so a
   burst of other work on the shared machine moves one round rather than one side.
2. failover: clients in us-east-1 call flight-control in a loop while its last us-east-1
   instance is SIGKILLed (sidecar and application, as when its host dies); the time from
   the kill to the first answer from eu-west-1, the failed requests after it, and the
   retries the client's sidecar refused for its retry limit, for each resilience setting:
   the defaults every outbound gets (xds/generate/failover.py: retries with previous
   priorities and previous hosts, outlier detection), without retries
   (MeshRetry `numRetries: 0`), without outlier detection (MeshCircuitBreaker
   `outlierDetection.disabled`), without either, and without either but with active
   health checks (MeshHealthCheck, TCP, every second);
3. a ZoneIngress's config size (the serialized bytes of its listener, clusters and load
   assignments) and its generation time, in-process, for a zone serving 1,000 and 10,000
   services, each with one local instance: the first generation, then after a Dataplane of
   the zone changes, median of several repetitions (wall clock, and the CPU time of the
   generating thread).

    python -m bench.cross_zone_bench --rounds 3 --seconds 5 --services 1000 10000
    python -m bench.cross_zone_bench --only-failover
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cross_zone_mesh import HOME as HOME_ZONE
from bench.cross_zone_mesh import REMOTE as REMOTE_ZONE
from bench.cross_zone_mesh import BaselineSide, MeshSide, Processes, root_ca, wait_for
from bench.header import print_header
from bench.mesh_load import MESH, service_dataplane
from meshfabric.resources import Parsed, Resource
from meshfabric.resources.types.zoneingress import ZoneIngressFields
from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy import types
from meshfabric.xds.generate import ingress
from meshfabric.xds.model.context import MeshContext

ZONE = "us-east-1"
GENERATION_TARGET_SECONDS = 0.1  # at 10,000 services (issue 11)
# Through the ingress, against the hand-written config (issue 11).
THROUGHPUT_TARGET, P50_TARGET = 0.95, 1.05
PATHS = {
    "direct": "sidecar to sidecar, same zone",
    "ingress": "sidecar to ingress to sidecar",
    "egress": "sidecar to egress to ingress to sidecar",
}
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
PACED = Path(__file__).with_name("paced.lua")  # wrk's script for a fixed request rate


@dataclass(frozen=True)
class Run:
    """One wrk run: requests/s, p50 and p99 in seconds, and requests that failed."""

    rate: float
    p50: float
    p99: float
    errors: int


def parse_wrk(output: str) -> Run:
    def seconds(percentile: str) -> float:
        found = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if found is None:
            raise ValueError(f"no {percentile}% latency in wrk's output:\n{output}")
        return float(found[1]) * _UNITS[found[2]]

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if rate is None:
        raise ValueError(f"no Requests/sec in wrk's output:\n{output}")
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = (int(failed[1]) if failed else 0) + (sum(map(int, socket.groups())) if socket else 0)
    return Run(float(rate[1]), seconds("50"), seconds("99"), errors)


async def load(url: str, connections: int, seconds: int, rate: int | None = None) -> Run:
    """wrk in a child process, so this process's xDS servers keep serving meanwhile: as fast
    as the connections go, or at `rate` requests/s (bench/paced.lua)."""
    script, script_args = ([], []) if rate is None else (["-s", str(PACED)], ["--", str(rate)])
    wrk = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *script, url, *script_args,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await wrk.communicate()
    return parse_wrk(output.decode())


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


async def answering(url: str) -> None:
    await wait_for(lambda: asyncio.to_thread(answers, url), 60, f"an answer from {url}")


async def compare(
    path: str, ours: str, theirs: str, args: argparse.Namespace
) -> tuple[list[Run], list[Run]]:
    """Alternating rounds of the same load through the mesh and through the baseline."""
    await answering(ours)
    await answering(theirs)
    mesh_runs, baseline_runs = [], []
    for _ in range(args.rounds):
        mesh_runs.append(await load(ours, args.connections, args.seconds))
        baseline_runs.append(await load(theirs, args.connections, args.seconds))
    report_path(path, mesh_runs, baseline_runs)
    return mesh_runs, baseline_runs


def report_path(path: str, mesh_runs: list[Run], baseline_runs: list[Run]) -> None:
    def median(runs: list[Run], field: str) -> float:
        return statistics.median(float(getattr(run, field)) for run in runs)

    def ratio(field: str) -> float:
        pairs = zip(mesh_runs, baseline_runs, strict=True)
        return statistics.median(float(getattr(m, field) / getattr(b, field)) for m, b in pairs)

    print(f"{path} ({PATHS[path]}):")
    for label, runs in (("meshfabric", mesh_runs), ("hand-written", baseline_runs)):
        p50, p99 = median(runs, "p50") * 1e3, median(runs, "p99") * 1e3
        print(
            f"  {label:<12} {median(runs, 'rate'):>8.1f} req/s  p50 {p50:.2f} ms"
            f"  p99 {p99:.2f} ms  failed {sum(r.errors for r in runs)}"
        )
    rates, p50s, p99s = ratio("rate"), ratio("p50"), ratio("p99")
    verdict = ""
    if path == "ingress":
        met = rates >= THROUGHPUT_TARGET and p50s <= P50_TARGET
        verdict = (
            f"  targets >= {THROUGHPUT_TARGET}x req/s, <= {P50_TARGET}x p50: "
            f"{'met' if met else 'MISSED'}"
        )
    print(
        f"  ratio (median of {len(mesh_runs)} rounds): req/s {rates:.3f}x  p50 {p50s:.3f}x"
        f"  p99 {p99s:.3f}x{verdict}",
        flush=True,
    )


def _to_every_service(policy_type: str, name: str, default: dict[str, Any]) -> Resource:
    to = [{"targetRef": {"kind": "Mesh"}, "default": default}]
    return Resource(policy_type, MESH, name, {"targetRef": {"kind": "Mesh"}, "to": to})


NO_RETRIES = _to_every_service("MeshRetry", "no-retries", {"http": {"numRetries": 0}})
NO_OUTLIER_DETECTION = _to_every_service(
    "MeshCircuitBreaker",
    "no-outlier-detection",
    {"outlierDetection": {"disabled": True, "detectors": {"gatewayFailures": {"consecutive": 3}}}},
)
HEALTH_CHECKS = _to_every_service(
    "MeshHealthCheck",
    "every-second",
    {
        "interval": "1s",
        "timeout": "500ms",
        "unhealthyThreshold": 1,
        "healthyThreshold": 1,
        "noTrafficInterval": "1s",
        "tcp": {},
    },
)
RESILIENCE = {  # xds/generate/failover.py: what every outbound gets, and what replaces it
    "defaults (retries, outlier detection)": [],
    "no retries (MeshRetry numRetries 0)": [NO_RETRIES],
    "no outlier detection (MeshCircuitBreaker disabled)": [NO_OUTLIER_DETECTION],
    "neither": [NO_RETRIES, NO_OUTLIER_DETECTION],
    "neither, MeshHealthCheck every 1 s": [NO_RETRIES, NO_OUTLIER_DETECTION, HEALTH_CHECKS],
}
FAILOVER_TARGET_SECONDS = 0.05  # from the last local instance's death (issue 11)


class SteadyLoad:
    """Workers calling in a loop on kept-alive connections; every answer or failure is kept
    with the time it ended."""

    def __init__(self, url: str, workers: int) -> None:
        self.url = urllib.parse.urlsplit(url)
        self.answers: list[tuple[float, str]] = []  # (ended at, body or "failed: ...")
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def __enter__(self) -> SteadyLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def _run(self) -> None:
        connection = http.client.HTTPConnection(self.url.netloc, timeout=5)
        while not self._stop.is_set():
            try:
                connection.request("GET", self.url.path or "/")
                response = connection.getresponse()
                body = response.read().decode()
                result = body if response.status == 200 else f"failed: {response.status} {body}"
            except (OSError, http.client.HTTPException) as error:
                result = f"failed: {error!r}"
                connection.close()
            self.answers.append((time.monotonic(), result))


@dataclass(frozen=True)
class Failover:
    seconds: float | None  # from the death to the first answer from eu-west-1
    failed: int
    requests: int  # from the death to the end of the run
    reason: str  # the most frequent failure, if any


def failover_figures(answers: list[tuple[float, str]], died_at: float) -> Failover:
    after = [(at, result) for at, result in answers if at >= died_at]
    remote = [at for at, result in after if result == REMOTE_ZONE]
    failures = Counter(result for _, result in after if result.startswith("failed"))
    reason = failures.most_common(1)[0][0].removeprefix("failed: ")[:60] if failures else ""
    took = remote[0] - died_at if remote else None
    return Failover(took, sum(failures.values()), len(after), reason)


async def failover(mesh: MeshSide, args: argparse.Namespace) -> None:
    print(
        f"## Failover: {args.workers} clients in {HOME_ZONE} calling flight-control in a loop; "
        f"its last {HOME_ZONE} instance SIGKILLed (sidecar and application) after "
        f"{args.steady:g} s, calls kept up {args.after:g} s more"
    )
    url, previous = mesh.urls["ingress"], list[Resource]()
    for index, (setting, policies) in enumerate(RESILIENCE.items()):
        await mesh.apply_policies(policies, previous)
        previous = policies
        name = f"flight-control-local-{index}"
        await mesh.start_local_instance(name)
        await wait_for(lambda: asyncio.to_thread(_answer, url, HOME_ZONE), 60, "local answers")
        await asyncio.sleep(args.settle)  # the policies reach the client's Envoy (debounced)
        overflows = await asyncio.to_thread(mesh.retry_overflows)
        with SteadyLoad(url, args.workers) as calls:
            await asyncio.sleep(args.steady)
            died_at = time.monotonic()
            mesh.kill_instance(name)
            await asyncio.sleep(args.after)
        overflows = await asyncio.to_thread(mesh.retry_overflows) - overflows
        await mesh.forget_instance(name)
        figures = failover_figures(calls.answers, died_at)
        took = "never" if figures.seconds is None else f"{figures.seconds * 1000:.1f} ms"
        met = figures.seconds is not None and figures.seconds <= FAILOVER_TARGET_SECONDS
        print(
            f"  {setting:<52} first {REMOTE_ZONE} answer after {took:>9}; failed "
            f"{figures.failed} of {figures.requests}, retries over the limit {overflows}"
            f"{'' if index else '  target <= 50 ms: ' + ('met' if met else 'MISSED')}"
            f"{f'  (mostly: {figures.reason!r})' if figures.reason else ''}",
            flush=True,
        )
    await mesh.apply_policies([], previous)


def _answer(url: str, body: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.read().decode() == body)
    except OSError:
        return False


async def with_envoys(args: argparse.Namespace) -> None:
    """The figures of real Envoys: each path's requests, then failover."""
    with tempfile.TemporaryDirectory(prefix="mfzb-", dir="/tmp") as directory:
        work = Path(directory)
        processes = Processes(work)
        mesh = MeshSide(work, processes)
        try:
            await mesh.start()
            if not args.only_failover:
                await throughput(mesh, BaselineSide(work, processes), args)
                print()
            await failover(mesh, args)
        finally:
            processes.stop_all()
            await mesh.stop()


async def throughput(mesh: MeshSide, baseline: BaselineSide, args: argparse.Namespace) -> None:
    print(
        f"## Requests through each path: wrk, {args.connections} connections, "
        f"{args.seconds} s per run, {args.rounds} alternating rounds"
    )
    await baseline.start(await root_ca(mesh.zones["us-east-1"]))
    for path in ("direct", "ingress"):
        await compare(path, mesh.urls[path], baseline.urls[path], args)
    await mesh.require_egress()
    await wait_for(lambda: _through_egress(mesh), 60, "calls through the egress")
    await compare("egress", mesh.urls["egress"], baseline.urls["egress"], args)
    await mesh.stop_requiring_egress()


async def _through_egress(mesh: MeshSide) -> bool:
    before = await asyncio.to_thread(mesh.egress_requests)
    await asyncio.to_thread(answers, mesh.urls["egress"])
    return await asyncio.to_thread(mesh.egress_requests) > before


def zone_with_services(services: int) -> tuple[MeshContext, Parsed[ZoneIngressFields]]:
    """A zone's mesh context: `services` services of one instance each, and the zone's
    own ingress."""
    mesh = MeshContext(MESH, zone=ZONE)
    mesh.put(Resource("Mesh", "", MESH, {}))
    for index in range(services):
        mesh.put(service_dataplane(index))
    networking = {"address": "127.0.0.1", "port": 10001}
    advertised = {"advertisedAddress": "127.0.0.1", "advertisedPort": 10001}
    mesh.put(Resource("ZoneIngress", "", "ingress", {"networking": {**networking, **advertised}}))
    return mesh, mesh.ingresses["ingress"]


def generate_after_change(
    mesh: MeshContext, zone_ingress: Parsed[ZoneIngressFields]
) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one generation."""
    mesh.put(service_dataplane(0))  # a Dataplane changes: endpoints are derived anew
    gc.collect()
    started, cpu = time.perf_counter(), time.thread_time()
    ingress.generate_snapshot(mesh, zone_ingress)
    return time.perf_counter() - started, time.thread_time() - cpu


def config_bytes(snapshot: Snapshot) -> dict[str, int]:
    """Serialized bytes of the resources, by type, as the ADS stream carries them."""
    short = {types.LISTENER: "listeners", types.CLUSTER: "clusters", types.ENDPOINT: "endpoints"}
    found: dict[str, int] = {}
    for resource in snapshot:
        kind = short.get(resource.type_url, resource.type_url)
        found[kind] = found.get(kind, 0) + len(resource.body.value)
    return found


def ingress_generation(services: int, repetitions: int) -> None:
    mesh, zone_ingress = zone_with_services(services)
    started, cpu = time.perf_counter(), time.thread_time()
    snapshot = ingress.generate_snapshot(mesh, zone_ingress)
    first = time.perf_counter() - started, time.thread_time() - cpu
    sizes = config_bytes(snapshot)
    runs = [generate_after_change(mesh, zone_ingress) for _ in range(repetitions)]
    wall = statistics.median(run[0] for run in runs)
    cpu_median = statistics.median(run[1] for run in runs)
    detail = ", ".join(f"{kind} {size:,}" for kind, size in sorted(sizes.items()))
    print(f"ingress, {services:,} services: config {sum(sizes.values()):,} bytes ({detail})")
    print(f"  first generation: {first[0] * 1000:.1f} ms ({first[1] * 1000:.1f} ms CPU)")
    verdict = ""
    if services >= 10_000:
        met = "met" if wall < GENERATION_TARGET_SECONDS else "MISSED"
        verdict = f"; target < {GENERATION_TARGET_SECONDS * 1000:.0f} ms: {met}"
    print(
        f"  after a Dataplane change: median {wall * 1000:.1f} ms ({cpu_median * 1000:.1f} ms "
        f"CPU), least {min(run[0] for run in runs) * 1000:.1f} ms, {repetitions} runs{verdict}",
        flush=True,
    )


def print_load() -> None:
    """The machine is shared: how busy it was is part of every figure."""
    one, five, fifteen = os.getloadavg()
    print(f"# load average: {one:.2f}, {five:.2f}, {fifteen:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="failover: calling clients")
    parser.add_argument("--steady", type=float, default=2, help="failover: seconds before")
    parser.add_argument("--after", type=float, default=3, help="failover: seconds after")
    parser.add_argument("--settle", type=float, default=2, help="failover: policy delivery")
    figures = parser.add_mutually_exclusive_group()
    figures.add_argument("--no-envoy", action="store_true", help="only the in-process figures")
    figures.add_argument("--only-failover", action="store_true", help="only the failover")
    args = parser.parse_args()
    print_header()
    print_load()
    if not args.no_envoy:
        if not args.only_failover and shutil.which("wrk") is None:
            parser.error("wrk is not installed (scripts/install-system-packages.sh installs it)")
        asyncio.run(with_envoys(args))
        print()
    if not args.only_failover:
        print("## ZoneIngress config size and generation time (in-process, no Envoy)")
        for services in args.services:
            ingress_generation(services, args.repetitions)
    print_load()


if __name__ == "__main__":
    main()
