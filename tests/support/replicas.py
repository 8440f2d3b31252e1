"""Replicas of global and of a zone on one PostgreSQL database, as real processes, and what
tells which of them holds a zone's stream or leads (shared by tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.control_plane import ControlPlane
from tests.support.net import free_port

# start(env, *args, name=...) -> a started control plane, stopped when the caller is done.
Start = Callable[..., ControlPlane]


def on_postgres(dsn: str, **more: str) -> dict[str, str]:
    return {"MESHFABRIC_STORE__TYPE": "postgres", "MESHFABRIC_STORE__POSTGRES__DSN": dsn, **more}


def instance_id(cp: ControlPlane) -> str:
    with cp.client() as client:
        return str(client.get("/").json()["instanceId"])


def latest_subscription(global_cp: ControlPlane, zone: str) -> dict[str, Any] | None:
    with global_cp.client() as client:
        overview = client.get("/zones/_overview").json()
    for item in overview["items"]:
        subscriptions: list[dict[str, Any]] = item["zoneInsight"]["subscriptions"]
        if item["name"] == zone and subscriptions:
            return subscriptions[-1]
    return None


def connected_through(global_cp: ControlPlane, zone: str, replica: str) -> bool:
    """The zone's stream is open, held by that replica of global."""
    latest = latest_subscription(global_cp, zone)
    return (
        latest is not None
        and "disconnectTime" not in latest
        and latest["globalInstanceId"] == replica
    )


def leads(metrics_port: int) -> bool:
    """The control plane with that diagnostics port says it leads its replicas."""
    metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    return any(
        sample.value == 1
        for family in text_string_to_metric_families(metrics)
        if family.name == "meshfabric_leader"
        for sample in family.samples
    )


class GlobalReplicas:
    """Two replicas of global on one database, each with its own KDS port and data
    directory, serving the same KDS certificate (as behind one address), and `mesh` in it."""

    def __init__(self, start: Start, dsn: str, mesh: dict[str, Any]) -> None:
        self.kds_ports = [free_port(), free_port()]
        self.metrics_ports = [free_port(), free_port()]
        first = self._start(start, 0, on_postgres(dsn))
        files = first.data_dir
        same_certificate = {
            "MESHFABRIC_KDS__TLS_CERT_FILE": str(files / "kds-server.crt"),
            "MESHFABRIC_KDS__TLS_KEY_FILE": str(files / "kds-server.key"),
        }
        second = self._start(start, 1, on_postgres(dsn, **same_certificate))
        self.replicas = [first, second]
        self.ca_file = files / "kds-ca.crt"
        with first.client() as client:
            client.put(f"/meshes/{mesh['name']}", json=mesh).raise_for_status()

    def _start(self, start: Start, index: int, env: dict[str, str]) -> ControlPlane:
        return start(
            env,
            "--mode", "global",
            "--kds-port", str(self.kds_ports[index]),
            "--diagnostics-port", str(self.metrics_ports[index]),
            name=f"global-{index}",
        )  # fmt: skip

    @property
    def addresses(self) -> str:
        return ",".join(f"grpcs://127.0.0.1:{port}" for port in self.kds_ports)

    def zone_token(self, zone: str, directory: Path) -> Path:
        with self.replicas[0].client() as client:
            issued = client.post("/tokens/zone", json={"zone": zone, "validFor": "24h"})
            issued.raise_for_status()
        path = directory / f"{zone}.token"
        path.write_text(issued.text)
        return path


def start_zone(
    start: Start,
    name: str,
    zone: str,
    address: str,
    token: Path,
    ca_file: Path,
    env: dict[str, str],
    *args: str,
) -> ControlPlane:
    """A federated zone control plane (`name` is its data directory's)."""
    return start(
        env,
        "--mode", "zone", "--zone", zone,
        "--global-address", address,
        "--zone-token-file", str(token),
        "--global-ca-file", str(ca_file),
        *args,
        name=name,
    )  # fmt: skip
