"""HA benchmark: replicas on one PostgreSQL database, the one that matters killed with kill -9.

Prints, over the rounds of one run, times from the kill (polled every 50 ms):
1. two replicas of global, a zone that knows both addresses: the replica holding the zone's
   stream killed; until the zone's stream is open again through the other one, and until a
   MeshTimeout written at the survivor right after the kill is in the zone's store;
2. two replicas of a zone: the leader killed; until the other one leads, and until its KDS
   stream is open at global.
The killed replica is started again before the next round.

    python -m bench.ha_bench --rounds 5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from bench.header import print_header
from bench.kds_bench import MESH_DOCUMENT, mesh_timeout
from bench.kds_bench import path as kds_path
from bench.xds_bench import percentile
from tests.support.control_plane import ControlPlane
from tests.support.net import free_port, wait_until
from tests.support.postgres import PostgresServer
from tests.support.replicas import (
    GlobalReplicas,
    Start,
    connected_through,
    instance_id,
    latest_subscription,
    leads,
    on_postgres,
    start_zone,
)

TIMEOUT = 60


def since(start: float, condition: Callable[[], bool], what: str) -> float:
    wait_until(condition, TIMEOUT, what)
    return time.monotonic() - start


def in_store(cp: ControlPlane, path: str) -> bool:
    with cp.client() as client:
        return client.get(path).status_code == 200


def global_rounds(world: GlobalReplicas, zone: ControlPlane, rounds: int) -> None:
    results = [_global_round(world, zone, index) for index in range(rounds)]
    report("global: stream open again through the other replica", [r[0] for r in results])
    report("global: policy written at the survivor in the zone", [r[1] for r in results])


def _global_round(world: GlobalReplicas, zone: ControlPlane, index: int) -> tuple[float, float]:
    ids = [instance_id(replica) for replica in world.replicas]
    observer = world.replicas[0]
    wait_until(
        lambda: any(connected_through(observer, "zone-a", i) for i in ids),
        TIMEOUT,
        "the zone's stream",
    )
    holder = 0 if connected_through(observer, "zone-a", ids[0]) else 1
    survivor, survivor_id = world.replicas[1 - holder], ids[1 - holder]
    path = kds_path("meshtimeouts", f"round-{index}")
    killed_at = time.monotonic()
    world.replicas[holder].kill()
    with survivor.client() as client:
        policy = mesh_timeout(f"round-{index}", {"connectionTimeout": "5s"})
        client.put(path, json=policy).raise_for_status()
    stream = since(
        killed_at,
        lambda: connected_through(survivor, "zone-a", survivor_id),
        "the stream through the survivor",
    )
    delivered = since(killed_at, lambda: in_store(zone, path), "the policy in the zone")
    world.replicas[holder].start()
    return stream, delivered


def zone_rounds(start: Start, world: GlobalReplicas, dsn: str, root: Path, rounds: int) -> None:
    token = world.zone_token("zone-b", root)
    ports = [free_port(), free_port()]
    replicas = [
        start_zone(
            start, f"zone-b-{index}", "zone-b", world.addresses, token, world.ca_file,
            on_postgres(dsn), "--diagnostics-port", str(ports[index]),
        )
        for index in range(2)
    ]  # fmt: skip
    results = [_zone_round(world.replicas[0], replicas, ports) for _ in range(rounds)]
    report("zone: the other replica leads", [r[0] for r in results])
    report("zone: the new leader's stream open at global", [r[1] for r in results])


def _zone_round(
    global_cp: ControlPlane, replicas: list[ControlPlane], ports: list[int]
) -> tuple[float, float]:
    wait_until(lambda: any(leads(port) for port in ports), TIMEOUT, "a zone leader")
    leader = 0 if leads(ports[0]) else 1
    other_port = ports[1 - leader]
    wait_until(lambda: _stream_open(global_cp, "zone-b"), TIMEOUT, "the zone's stream")
    held = (latest_subscription(global_cp, "zone-b") or {})["id"]
    killed_at = time.monotonic()
    replicas[leader].kill()
    took_over = since(killed_at, lambda: leads(other_port), "the other leading")
    reconnected = since(
        killed_at,
        lambda: _stream_open(global_cp, "zone-b", other_than=held),
        "the new leader's stream",
    )
    replicas[leader].start()
    return took_over, reconnected


def _stream_open(global_cp: ControlPlane, zone: str, other_than: str = "") -> bool:
    latest = latest_subscription(global_cp, zone)
    return latest is not None and "disconnectTime" not in latest and latest["id"] != other_than


def report(what: str, seconds: list[float]) -> None:
    ms = sorted(1000 * s for s in seconds)
    print(
        f"{what}: p50 {percentile(ms, 0.5):.0f} ms, max {ms[-1]:.0f} ms ({len(ms)} rounds)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print_header()
    postgres = PostgresServer()
    postgres.start()
    with ExitStack() as cleanup, tempfile.TemporaryDirectory() as directory:
        cleanup.callback(postgres.stop)
        root = Path(directory)

        def start(env: dict[str, str], *words: str, name: str) -> ControlPlane:
            cp = ControlPlane(root / name, env, *words).start()
            cleanup.callback(cp.stop)
            return cp

        world = GlobalReplicas(start, postgres.new_database(), MESH_DOCUMENT)
        token = world.zone_token("zone-a", root)
        zone = start_zone(start, "zone-a", "zone-a", world.addresses, token, world.ca_file, {})
        global_rounds(world, zone, args.rounds)
        zone_rounds(start, world, postgres.new_database(), root, args.rounds)


if __name__ == "__main__":
    main()
