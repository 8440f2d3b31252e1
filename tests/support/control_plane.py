"""A real meshfabric-cp process on free ports, with its admin token and a client."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.support.net import free_port, wait_until


class ControlPlane:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, *args: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.https_port = free_port()
        self.https_url = f"https://127.0.0.1:{self.https_port}"
        self.env = {**os.environ, "MESHFABRIC_LOG__FORMAT": "text", **(env or {})}
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "cp.log"

    def start(self) -> ControlPlane:
        self._spawn()
        try:
            # A start takes a second on an idle machine and can take half a minute on a busy one.
            wait_until(self._answers, 90, f"the control plane on {self.url} (log: {self.log})")
        except TimeoutError:
            self.stop()  # a fixture that fails to set up is never torn down
            raise
        return self

    def run_to_exit(self, timeout: float = 30) -> tuple[int, str]:
        """Start it and wait for it to end on its own: (exit code, log)."""
        process = self._spawn()
        try:
            return process.wait(timeout=timeout), self.log.read_text()
        finally:
            self.stop()

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "meshfabric.cp",
            "run", "--data-dir", str(self.data_dir),
            "--api-address", "127.0.0.1", "--api-port", str(self.port),
            "--api-https-port", str(self.https_port),
            "--diagnostics-port", "0",
            # Zone control planes serve xDS: never on a fixed port here (args may name a free one).
            "--xds-port", "0",
            *self.args,
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        return self.process
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        return self.process

    @property
    def token(self) -> str:
        return (self.data_dir / "admin-token").read_text().strip()

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10, **kwargs)

    def async_client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10)

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up, like a machine losing power."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, signum: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signum)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the control plane exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(self.url + "/", timeout=1).status_code == 200
        except httpx.TransportError:
            return False
