"""Wall time of the collection's playbooks on a meshfabric-lab, as onto real machines.

1. A first ``site.yml`` run: global, both zones' control planes, ingresses and egresses,
   flight-control's sidecar in each zone and its client's in us-east-1 (ten hosts, each
   installed from the wheelhouse the run builds on the controller), the mesh with mTLS
   and its policies.
2. A second run, which changes nothing (target: under 30 s).
3. ``upgrade.yml`` to this tree's version with a local version suffix, every host but
   the client's, while the client calls flight-control (answered by both zones) in a
   loop: the failed calls during the upgrade (target: none).

Needs root (the lab's network namespaces); takes the lab down at the end.

    python -m bench.ansible_bench
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.header import print_header
from tests.support.ansible_lab import (
    CLIENT,
    MESH_HOSTS,
    ZONES,
    CrossZone,
    Deployment,
    Run,
    build_wheel,
    copy_collection,
    failed,
    lab_deployment,
)

NO_CHANGE_TARGET_SECONDS = 30.0


def timed(label: str, run: Callable[[], Run]) -> tuple[Run, float]:
    started = time.monotonic()
    result = run()
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"{label} failed:\n{result.output[-4000:]}")
    return result, seconds


def changed(run: Run) -> str:
    counts = run.changed()
    return f"changed={sum(counts.values())} on {len(counts)} hosts"


def bench(work: Path) -> None:
    collections = copy_collection(work / "collections")
    with lab_deployment(collections, work / "site") as deployment:
        CrossZone.host_vars(deployment)
        limit = ("--limit", ",".join(MESH_HOSTS))
        first, first_seconds = timed("site.yml", lambda: deployment.site(*limit))
        hosts = len(MESH_HOSTS)
        print(f"site.yml, first run ({hosts} hosts):  {first_seconds:7.1f} s  {changed(first)}")
        second, second_seconds = timed("site.yml again", lambda: deployment.site(*limit))
        verdict = "met" if second_seconds < NO_CHANGE_TARGET_SECONDS else "MISSED"
        print(
            f"site.yml, second run (no change): {second_seconds:7.1f} s  {changed(second)}  "
            f"(target < {NO_CHANGE_TARGET_SECONDS:.0f} s: {verdict})",
            flush=True,
        )
        upgrade_under_load(deployment, limit)


def upgrade_under_load(deployment: Deployment, limit: tuple[str, str]) -> None:
    traffic = CrossZone(deployment)
    try:
        traffic.start()
        version = build_wheel(deployment.work / "wheelhouse", "bench", deployment.work)
        upgraded = [host for host in MESH_HOSTS if host != CLIENT]
        extra = json.dumps({"meshfabric_version": version})
        traffic.start_calls()
        _, seconds = timed(
            "upgrade.yml",
            lambda: deployment.playbook(
                "upgrade.yml", "--extra-vars", extra, "--limit", ",".join(upgraded)
            ),
        )
        answers = traffic.stop_calls()
    finally:
        traffic.stop()
    by_zone = Counter(str(answer["service"]) for answer in answers if "service" in answer)
    print(f"upgrade.yml to {version} ({len(upgraded)} hosts, one zone at a time): {seconds:7.1f} s")
    print(
        f"  calls during the upgrade: {len(answers)}, failed: {len(failed(answers))} (target 0); "
        + ", ".join(f"answered by {zone}: {by_zone[zone]}" for zone in ZONES)
    )
    for answer in failed(answers)[:5]:
        print(f"  failed: {answer['error'][:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    print_header()
    one, five, fifteen = os.getloadavg()
    print(f"# load average at the start: {one:.2f} {five:.2f} {fifteen:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ansible-bench-") as work:
        bench(Path(work))
    one, five, fifteen = os.getloadavg()
    print(f"# load average at the end: {one:.2f} {five:.2f} {fifteen:.2f}")


if __name__ == "__main__":
    main()
