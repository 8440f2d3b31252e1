"""Cross-zone benchmark: what a zone's ingress costs.

Prints the size of a ZoneIngress's config (the serialized bytes of its listener, clusters
and load assignments) and the time to generate it, in-process, for a zone serving 1,000 and
10,000 services, each with one local instance. Generation is timed from scratch, as after
any change of a Dataplane in the zone (a new endpoint anywhere drops everything derived from
endpoints): the endpoint index of the whole mesh, then the ingress's resources and their
snapshot. Each figure is the median (and the least) of several repetitions.

    python -m bench.cross_zone_bench --services 1000 10000
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    print_header()
    print("## ZoneIngress config size and generation time (in-process, no Envoy)")
    for services in args.services:
        ingress_generation(services, args.repetitions)


if __name__ == "__main__":
    main()
