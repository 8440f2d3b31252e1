"""Durability and concurrency of a real control-plane process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import httpx

from tests.support.control_plane import ControlPlane

MESH = {"type": "Mesh", "name": "default"}


def counter(value: int) -> dict[str, object]:
    return {"type": "Zone", "name": "counter", "labels": {"count": str(value)}}


async def increment(client: httpx.AsyncClient, conflicts: list[int]) -> None:
    """Read, add one, write back with the version read; start over on 409."""
    while True:
        read = await client.get("/zones/counter")
        count = int(read.json()["labels"]["count"])
        write = await client.put(
            "/zones/counter", json=counter(count + 1), headers={"If-Match": read.headers["etag"]}
        )
        if write.status_code == 409:
            conflicts.append(1)
            continue
        assert write.status_code == 200, write.text
        return


async def increments(client: httpx.AsyncClient, rounds: int, conflicts: list[int]) -> None:
    for _ in range(rounds):
        await increment(client, conflicts)


async def test_concurrent_read_modify_write_loses_no_update(
    start_control_plane: Callable[..., ControlPlane], control_plane_env: dict[str, str]
) -> None:
    cp = start_control_plane(control_plane_env)
    clients, rounds = 6, 8
    conflicts: list[int] = []
    async with cp.async_client() as client:
        assert (await client.put("/zones/counter", json=counter(0))).status_code == 201
        await asyncio.gather(*(increment(client, conflicts) for _ in range(clients * rounds)))
        final = (await client.get("/zones/counter")).json()
    assert final["labels"]["count"] == str(clients * rounds)
    assert conflicts, "concurrent writers with versions should have met conflicts"


def write_until_stopped(
    cp: ControlPlane, worker: int, acked: dict[str, int], stop: threading.Event
) -> None:
    """Create and update resources as fast as possible; remember what was acknowledged."""
    with cp.client() as client:
        sequence = 0
        while not stop.is_set():
            name = f"w{worker}-{sequence % 25}"
            body = {"type": "Zone", "name": name, "labels": {"seq": str(sequence)}}
            try:
                response = client.put(f"/zones/{name}", json=body)
            except httpx.TransportError:
                return  # the process is gone: nothing more was acknowledged
            if response.status_code in (200, 201):
                acked[name] = sequence
            sequence += 1


def test_every_acknowledged_write_survives_kill_9(
    start_control_plane: Callable[..., ControlPlane], control_plane_env: dict[str, str]
) -> None:
    cp = start_control_plane(control_plane_env)
    acked_by_worker: list[dict[str, int]] = [{} for _ in range(6)]
    stop = threading.Event()
    workers = [
        threading.Thread(target=write_until_stopped, args=(cp, index, acked, stop))
        for index, acked in enumerate(acked_by_worker)
    ]
    for worker in workers:
        worker.start()
    # A burst of at least 1.5 s, and long enough for many acknowledged writes on a loaded
    # machine: the kill must land among writes in flight.
    started = time.monotonic()
    while time.monotonic() - started < 1.5 or (
        sum(map(len, acked_by_worker)) <= 20 and time.monotonic() - started < 60
    ):
        time.sleep(0.1)
    cp.kill()
    stop.set()
    for worker in workers:
        worker.join()
    acked = {name: seq for part in acked_by_worker for name, seq in part.items()}
    assert len(acked) > 20, "the burst should have been acknowledged many writes"

    cp.start()
    with cp.client() as client:
        stored = {
            zone["name"]: int(zone["labels"]["seq"])
            for zone in client.get("/zones", params={"size": 1000}).json()["items"]
        }
    lost = {name: seq for name, seq in acked.items() if stored.get(name, -1) < seq}
    assert not lost, f"acknowledged writes missing after kill -9: {lost}"
