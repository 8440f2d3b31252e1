"""Both sides of the cross-zone benchmark's traffic: two zones of the mesh on loopback, and
the hand-written baseline of the same hops.

Zone us-east-1 holds the client (web), a local service (echo) and, when the mesh requires
it, the zone's egress; zone eu-west-1 holds flight-control behind its ingress. Each zone is an
in-process xDS server on its own SQLite store. What KDS would bring is written into each
store directly, in the shape it arrives in (`kuma.io/origin: zone` and the zone's labels):
eu-west-1's ZoneIngress and MeshService in us-east-1, and the mesh's CA in both.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from bench import cross_zone_baseline as baseline
from bench.ansible_resources import free_port
from meshfabric.ca.builtin import RootCa, ensure_root, root_secret_keys
from meshfabric.dp.envoy import envoy_command
from meshfabric.lab.envoy_admin import admin_get, is_live
from meshfabric.resources import Resource, ResourceKey
from meshfabric.store.manager import ResourceManager
from meshfabric.store.sqlite import SqliteStore
from meshfabric.tokens import DATAPLANE, TokenIssuer
from meshfabric.xds.component import Listen, XdsComponent

MESH = "default"
SERVICE = "flight-control"
LOCAL_SERVICE = "echo"
CLIENT = "web"
HOME, REMOTE = "us-east-1", "eu-west-1"
SNI = f"{SERVICE}{{mesh={MESH}}}"
CA_BACKEND = "ca-1"


def mesh_resource(zone_egress: bool = False) -> Resource:
    spec: dict[str, Any] = {
        "mtls": {
            "enabledBackend": CA_BACKEND,
            "backends": [{"name": CA_BACKEND, "type": "builtin"}],
        }
    }
    if zone_egress:
        spec["routing"] = {"zoneEgress": True}
    return Resource("Mesh", "", MESH, spec)


def allow_all() -> Resource:
    rule = {"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}
    spec = {"targetRef": {"kind": "Mesh"}, "from": [rule]}
    return Resource("MeshTrafficPermission", MESH, "allow-all", spec)


def mesh_service(name: str) -> Resource:
    spec = {
        "selector": {"dataplaneTags": {"kuma.io/service": name}},
        "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "appProtocol": "http"}],
    }
    return Resource("MeshService", MESH, name, spec)


def synced_from(resource: Resource, zone: str) -> Resource:
    """As KDS writes another zone's resource into this zone's store."""
    labels = {"kuma.io/origin": "zone", "kuma.io/zone": zone, "kuma.io/display-name": resource.name}
    return Resource(resource.type, resource.mesh, f"{resource.name}-{zone}", resource.spec, labels)


def dataplane(name: str, service: str, inbound: int, app: int, outbounds: dict[int, str]) -> str:
    document = {
        "type": "Dataplane",
        "mesh": MESH,
        "name": name,
        "networking": {
            "address": "127.0.0.1",
            "inbound": [
                {
                    "port": inbound,
                    "servicePort": app,
                    "tags": {"kuma.io/service": service, "kuma.io/protocol": "http"},
                }
            ],
            "outbound": [
                {"port": port, "tags": {"kuma.io/service": target}}
                for port, target in outbounds.items()
            ],
        },
    }
    return yaml.safe_dump(document)


async def wait_for(check: Callable[[], Awaitable[bool] | bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if await result if isinstance(result, Awaitable) else result:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"waited {seconds:.0f} s for {what}")


@dataclass
class Processes:
    """Everything started here, ended by its PID."""

    work: Path
    started: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, key: str, command: list[str]) -> None:
        log = (self.work / f"{key}.log").open("ab")
        self.started[key] = subprocess.Popen(command, stdout=log, stderr=log)

    def stop(self, key: str) -> None:
        process = self.started.pop(key)
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for key in list(self.started):
            self.stop(key)

    def kill(self, key: str) -> None:
        """SIGKILL, as a host that dies: no goodbye to anyone."""
        process = self.started.pop(key)
        process.kill()
        process.wait()

    async def app(self, key: str, body: str) -> int:
        """The application behind a sidecar (`baseline.application`), answering `body`."""
        port = free_port()
        admin = self.work / f"{key}.admin"
        path = self.work / f"{key}.json"
        path.write_text(json.dumps(baseline.application(port, body, admin)))
        self.start(key, envoy_command(path, "error"))
        await wait_for(partial(is_live, admin), 60, f"{key}'s Envoy")
        return port


@dataclass
class Zone:
    name: str
    store: SqliteStore
    xds: XdsComponent
    socket: Path

    @property
    def manager(self) -> ResourceManager:
        return ResourceManager(self.store)

    async def token(self, **claims: Any) -> str:
        return await TokenIssuer(self.store, DATAPLANE).issue(
            {"tags": {}, **claims}, timedelta(hours=2), MESH
        )


async def start_zone(work: Path, name: str, ca_from: SqliteStore | None) -> Zone:
    store = SqliteStore(work / f"{name}.db")
    manager = ResourceManager(store)
    if ca_from is not None:  # the mesh's CA, as global gives it to every zone
        for key in root_secret_keys(MESH, CA_BACKEND):
            secret = await ca_from.get(key)
            assert secret is not None
            await store.put(secret)
    await manager.apply(mesh_resource())
    await manager.apply(allow_all())
    xds = XdsComponent(manager, TokenIssuer(store, DATAPLANE), name, 0.02, zone=name)
    socket = work / f"{name}-xds.sock"
    await xds.start(Listen("127.0.0.1", 0, socket))
    return Zone(name, store, xds, socket)


class MeshSide:
    """The mesh's proxies for the three paths; `urls` are the client sidecar's outbounds."""

    def __init__(self, work: Path, processes: Processes) -> None:
        self.work, self.processes = work, processes
        self.zones: dict[str, Zone] = {}
        self.urls: dict[str, str] = {}
        self.admin: dict[str, Path] = {}

    async def start(self) -> None:
        home = self.zones[HOME] = await start_zone(self.work, HOME, None)
        await ensure_root(home.store, MESH, CA_BACKEND)
        remote = self.zones[REMOTE] = await start_zone(self.work, REMOTE, home.store)
        await remote.manager.apply(mesh_service(SERVICE))
        ingress_port = free_port()
        await self.dp(
            remote, "ingress", await remote.token(type="ingress", name="ingress"),
            "--proxy-type", "ingress", "--name", "ingress", "--mesh", MESH,
            "--address", "127.0.0.1", "--ingress-port", str(ingress_port),
            "--advertised-address", "127.0.0.1",
        )  # fmt: skip
        await self.sidecar(remote, "flight-control-1", SERVICE, {})
        ingress = await wait_stored(remote, ResourceKey("ZoneIngress", "", "ingress"))
        await home.store.put(synced_from(ingress, REMOTE))
        await home.store.put(synced_from(mesh_service(SERVICE), REMOTE))
        await self.sidecar(home, "echo-1", LOCAL_SERVICE, {})
        direct, cross = free_port(), free_port()
        await self.sidecar(home, "web-1", CLIENT, {direct: LOCAL_SERVICE, cross: SERVICE})
        self.urls = {
            "direct": f"http://127.0.0.1:{direct}/",
            "ingress": f"http://127.0.0.1:{cross}/",
        }

    async def require_egress(self) -> None:
        """From now on the client reaches eu-west-1 through its zone's egress."""
        home = self.zones[HOME]
        await self.dp(
            home, "egress", await home.token(type="egress", name="egress"),
            "--proxy-type", "egress", "--name", "egress", "--mesh", MESH,
            "--address", "127.0.0.1", "--egress-port", str(free_port()),
        )  # fmt: skip
        await wait_stored(home, ResourceKey("ZoneEgress", "", "egress"))
        await home.manager.apply(mesh_resource(zone_egress=True))
        self.urls["egress"] = self.urls["ingress"]

    async def stop_requiring_egress(self) -> None:
        await self.zones[HOME].manager.apply(mesh_resource())
        self.processes.stop("egress")

    async def start_local_instance(self, name: str) -> None:
        """An instance of flight-control in the client's zone, which then answers first."""
        home = self.zones[HOME]
        await home.manager.apply(mesh_service(SERVICE))
        await self.sidecar(home, name, SERVICE, {})

    def kill_instance(self, name: str) -> None:
        """The instance's host dies: its sidecar (meshfabric-dp and its Envoy) and its
        application, all SIGKILLed, no Dataplane deregistered."""
        envoys = child_pids(self.processes.started[name].pid)
        self.processes.kill(name)
        for pid in envoys:
            os.kill(pid, signal.SIGKILL)
        self.processes.kill(f"app-{name}")

    async def forget_instance(self, name: str) -> None:
        """What a zone does in the end with a dead instance's Dataplane."""
        await self.zones[HOME].store.delete(ResourceKey("Dataplane", MESH, name))

    async def apply_policies(self, policies: list[Resource], previous: list[Resource]) -> None:
        manager = self.zones[HOME].manager
        for resource in previous:
            await manager.store.delete(resource.key)
        for resource in policies:
            await manager.apply(resource)

    def egress_requests(self) -> int:
        text = admin_get(self.admin["egress"], "/stats?filter=egress.*upstream_cx_total")
        return sum(int(line.rpartition(": ")[2]) for line in text.splitlines() if ": " in line)

    def retry_overflows(self) -> int:
        """Retries the client's sidecar gave up on for its cluster's retry limit."""
        stat = f"cluster.{SERVICE}.upstream_rq_retry_overflow"
        return int(admin_get(self.admin["web-1"], f"/stats?filter=^{stat}$").rpartition(": ")[2])

    async def sidecar(self, zone: Zone, name: str, service: str, outbounds: dict[int, str]) -> None:
        app = await self.processes.app(f"app-{name}", zone.name)
        token = await zone.token(type="dataplane")
        document = dataplane(name, service, free_port(), app, outbounds)
        await self.dp(zone, name, token, "--dataplane", document)

    async def dp(self, zone: Zone, key: str, token: str, *args: str) -> None:
        directory = self.work / key
        directory.mkdir()
        (directory / "token").write_text(token)
        admin = self.admin[key] = directory / "admin.sock"
        self.processes.start(key, [
            sys.executable, "-m", "meshfabric.dp", "run",
            "--cp-address", f"unix://{zone.socket}",
            "--dataplane-token-file", str(directory / "token"),
            "--admin-socket", str(admin), "--work-dir", str(directory),
            "--envoy-log-level", "error", *args,
        ])  # fmt: skip
        await wait_for(partial(is_live, admin), 60, f"{key}'s Envoy")

    async def stop(self) -> None:
        for zone in self.zones.values():
            await zone.xds.stop()
            await zone.store.close()


def child_pids(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


async def wait_stored(zone: Zone, key: ResourceKey) -> Resource:
    found: list[Resource] = []

    async def stored() -> bool:
        resource = await zone.store.get(key)
        found[:] = [resource] if resource is not None else []
        return bool(found)

    await wait_for(stored, 60, f"{key} in {zone.name}")
    return found[0]


class BaselineSide:
    """The same hops by plain Envoys, static config written by hand."""

    def __init__(self, work: Path, processes: Processes) -> None:
        self.work, self.processes = work, processes
        self.urls: dict[str, str] = {}

    async def start(self, ca: RootCa) -> None:
        app = await self.processes.app("baseline-app", "baseline")
        server, ingress, egress = free_port(), free_port(), free_port()
        ports = {path: free_port() for path in ("direct", "ingress", "egress")}
        hops = [
            baseline.Hop(ports["direct"], server),
            baseline.Hop(ports["ingress"], ingress),
            baseline.Hop(ports["egress"], egress),
        ]
        configs: dict[str, Callable[[Path], dict[str, Any]]] = {
            "baseline-server": lambda admin: baseline.server(ca, SERVICE, server, app, admin),
            "baseline-ingress": lambda admin: baseline.passthrough(SNI, ingress, server, admin),
            "baseline-egress": lambda admin: baseline.passthrough(SNI, egress, ingress, admin),
            "baseline-client": lambda admin: baseline.client(ca, CLIENT, SERVICE, SNI, hops, admin),
        }
        for key, config in configs.items():
            admin = self.work / f"{key}.admin"
            path = self.work / f"{key}.json"
            path.write_text(json.dumps(config(admin)))
            self.processes.start(key, envoy_command(path, "error"))
            await wait_for(partial(is_live, admin), 60, f"{key}'s Envoy")
        self.urls = {path: f"http://127.0.0.1:{port}/" for path, port in ports.items()}


async def root_ca(zone: Zone) -> RootCa:
    return await ensure_root(zone.store, MESH, CA_BACKEND)
