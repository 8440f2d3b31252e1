"""Real processes for data-plane tests: a control plane, sidecars (meshfabric-dp + Envoy),
and small HTTP and TCP applications behind them. Everything listens on loopback, on ports
chosen at run time; xDS and Envoy admin go over Unix sockets."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from meshfabric.resources import REGISTRY
from tests.support.control_plane import ControlPlane
from tests.support.net import wait_until
from tests.support.netns import Namespace

XFCC = "x-forwarded-client-cert"


def status_of(url: str) -> int:
    """The HTTP status of a GET, 0 if the connection failed."""
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError:
        return 0


def seconds_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    wait_until(condition, timeout, what)
    return time.monotonic() - started


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class ZoneControlPlane(ControlPlane):
    """A zone control plane serving xDS on a Unix socket, and with TLS on a TCP port (a free
    one when xds_port is 0); restartable on the same data."""

    def __init__(self, data_dir: Path, xds_port: int = 0) -> None:
        self.xds_socket = data_dir / "xds.sock"
        self.xds_port = xds_port
        self.xds_ca = data_dir / "xds-ca.crt"  # generated on first start
        super().__init__(
            data_dir,
            {"MESHFABRIC_XDS__ADDRESS": "127.0.0.1"},  # loopback only
            "--xds-port",
            str(xds_port),
            "--xds-unix-socket",
            str(self.xds_socket),
        )

    def apply(self, document: dict[str, Any]) -> None:
        path = f"/meshes/{document['mesh']}" if "mesh" in document else ""
        plural = REGISTRY.get(document["type"]).plural
        with self.client() as client:
            client.put(f"{path}/{plural}/{document['name']}", json=document).raise_for_status()

    def delete(self, mesh: str, plural: str, name: str) -> None:
        with self.client() as client:
            client.delete(f"/meshes/{mesh}/{plural}/{name}").raise_for_status()

    def dataplane_token(self, mesh: str, *services: str, valid_for: str = "1h") -> str:
        tags = {"kuma.io/service": list(services)}
        request = {"mesh": mesh, "tags": tags, "validFor": valid_for}
        with self.client() as client:
            response = client.post("/tokens/dataplane", json=request)
        response.raise_for_status()
        return response.text


def mtls_mesh(name: str = "default", mode: str = "STRICT", expiration: str = "") -> dict[str, Any]:
    backend: dict[str, Any] = {"name": "ca-1", "type": "builtin", "mode": mode}
    if expiration:
        backend["dpCert"] = {"rotation": {"expiration": expiration}}
    return {"type": "Mesh", "name": name, "mtls": {"enabledBackend": "ca-1", "backends": [backend]}}


def permission(mesh: str, name: str, target: str, caller: str) -> dict[str, Any]:
    return {
        "type": "MeshTrafficPermission",
        "mesh": mesh,
        "name": name,
        "spec": {
            "targetRef": {"kind": "MeshService", "name": target},
            "from": [
                {
                    "targetRef": {"kind": "MeshService", "name": caller},
                    "default": {"action": "Allow"},
                }
            ],
        },
    }


class Sidecar:
    """meshfabric-dp running one Envoy for one Dataplane."""

    def __init__(
        self,
        cp: ZoneControlPlane,
        work_dir: Path,
        dataplane: dict[str, Any],
        token: str,
        extra_args: tuple[str, ...] = (),
        netns: Namespace | None = None,
        cp_address: str = "",
    ) -> None:
        self.name = dataplane["name"]
        self.dataplane = dataplane
        self.work_dir = work_dir / self.name
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.admin_socket = self.work_dir / "admin.sock"
        self.log = self.work_dir / "dp.log"
        token_file = self.work_dir / "token"
        token_file.write_text(token)
        command = [
            sys.executable, "-m", "meshfabric.dp", "run",
            "--cp-address", cp_address or f"unix://{cp.xds_socket}",
            "--dataplane", yaml.safe_dump(dataplane),
            "--dataplane-token-file", str(token_file),
            "--admin-socket", str(self.admin_socket),
            "--work-dir", str(self.work_dir),
            "--cp-wait-seconds", "5",
            *extra_args,
        ]  # fmt: skip
        self.command = netns.command(*command) if netns else command
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Sidecar:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=log)
        return self

    def wait_ready(self) -> Sidecar:
        wait_until(self._ready, 20, f"sidecar {self.name} (log: {self.log})")
        return self

    def run_to_exit(self, timeout: float = 20) -> tuple[int, str]:
        self.start()
        assert self.process is not None
        code = self.process.wait(timeout=timeout)
        return code, self.log.read_text()

    def stop(self) -> None:
        _stop(self.process)

    def crash(self) -> None:
        """SIGKILL meshfabric-dp and its Envoy, as when the host dies: the proxy vanishes
        without deregistering, its Dataplane stays in the store."""
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        self.process.kill()
        self.process.wait()
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(child), signal.SIGKILL)

    def admin(self, path: str) -> str:
        transport = httpx.HTTPTransport(uds=str(self.admin_socket))
        with httpx.Client(transport=transport, base_url="http://envoy", timeout=5) as client:
            return client.get(path).text

    def stat(self, name: str) -> int | None:
        for line in self.admin(f"/stats?filter=^{name}$").splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
        return None

    def envoy_starts(self) -> int:
        """How many Envoys meshfabric-dp has started (1 unless one died)."""
        return self.log.read_text().count("envoy started")

    def envoy_pid(self) -> int:
        """The process id of the Envoy meshfabric-dp runs (its child named envoy)."""
        assert self.process is not None
        tasks = Path(f"/proc/{self.process.pid}/task")
        children = [
            int(pid) for task in tasks.iterdir() for pid in (task / "children").read_text().split()
        ]
        [envoy] = [
            pid for pid in children if Path(f"/proc/{pid}/comm").read_text().strip() == "envoy"
        ]
        return envoy

    def uptime(self) -> int:
        """Seconds since this Envoy started (from its admin /server_info)."""
        return int(json.loads(self.admin("/server_info"))["uptime_all_epochs"].rstrip("s"))

    def rejected_updates(self) -> int:
        """Config updates this Envoy refused, summed over every xDS type."""
        stats = self.admin("/stats?filter=update_rejected").splitlines()
        return sum(int(line.rpartition(": ")[2]) for line in stats if ": " in line)

    def connected(self) -> bool:
        return self.stat("control_plane.connected_state") == 1

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"sidecar {self.name} exited: {self.log.read_text()[-3000:]}")
        if not self.admin_socket.exists():
            return False
        try:
            return self.connected() and self.admin("/ready").strip() == "LIVE"
        except httpx.TransportError:
            return False


def sidecar_dataplane(
    name: str,
    inbound_port: int,
    app_port: int,
    service: str,
    protocol: str,
    outbounds: dict[int, str] | None = None,
    mesh: str = "default",
) -> dict[str, Any]:
    return {
        "type": "Dataplane",
        "mesh": mesh,
        "name": name,
        "networking": {
            "address": "127.0.0.1",
            "inbound": [
                {
                    "port": inbound_port,
                    "servicePort": app_port,
                    "tags": {"kuma.io/service": service, "kuma.io/protocol": protocol},
                }
            ],
            "outbound": [
                {"port": port, "tags": {"kuma.io/service": target}}
                for port, target in (outbounds or {}).items()
            ],
        },
    }


class HttpApp:
    """Answers GETs with the caller identity Envoy forwarded (x-forwarded-client-cert).

    /fail-once/<key> answers 503 the first time for each key; /sleep/<ms> answers late.
    `fields` are added to every answer.
    """

    def __init__(self, **fields: str) -> None:
        failed: set[str] = set()

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

            def do_GET(self) -> None:
                status = 200
                if self.path.startswith("/fail-once/") and self.path not in failed:
                    failed.add(self.path)
                    status = 503
                if self.path.startswith("/sleep/"):
                    time.sleep(int(self.path.removeprefix("/sleep/")) / 1000)
                body = json.dumps({**fields, "xfcc": self.headers.get(XFCC)}).encode()
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HttpApp:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TcpEchoApp:
    def __init__(self) -> None:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                while data := self.request.recv(65536):
                    self.request.sendall(data)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TcpEchoApp:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def tcp_exchange(port: int, payload: bytes = b"ping") -> bytes:
    """What comes back for the payload: b"" when the connection is closed on us."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(payload)
            return conn.recv(len(payload))
    except (ConnectionResetError, BrokenPipeError, TimeoutError):
        return b""
