"""A real Prometheus (Debian's) for telemetry tests: started on a free loopback port with a
config given as a dict, queried over its HTTP API, stopped by PID."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.net import free_port, wait_until

BINARY = "/usr/bin/prometheus"


def mesh_wide_meshmetric(mesh: str, port: int) -> dict[str, Any]:
    """A MeshMetric that opens `port` on every proxy of the mesh, Kuma's defaults otherwise."""
    backend = {"type": "Prometheus", "prometheus": {"port": port}}
    return {
        "type": "MeshMetric",
        "mesh": mesh,
        "name": "prometheus",
        "spec": {"targetRef": {"kind": "Mesh"}, "default": {"backends": [backend]}},
    }


class Prometheus:
    def __init__(self, directory: Path, config: dict[str, Any]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.config_file = directory / "prometheus.yml"
        self.config_file.write_text(yaml.safe_dump(config))
        self.log = directory / "prometheus.log"
        self.url = f"http://127.0.0.1:{free_port()}"
        self._command = [
            BINARY,
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address={self.url.removeprefix('http://')}",
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Prometheus:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self._command, stdout=log, stderr=log)
        wait_until(self._ready, 20, f"Prometheus on {self.url} (log: {self.log})")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The instant vector of a PromQL expression: [{"metric": labels, "value": [t, v]}]."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=5)
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()["data"]["result"]
        return result

    def targets(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v1/targets", timeout=5)
        answer.raise_for_status()
        active: list[dict[str, Any]] = answer.json()["data"]["activeTargets"]
        return active

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"Prometheus exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False
