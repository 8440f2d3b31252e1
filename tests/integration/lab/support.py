"""Running the lab for tests: the CLI, a TCP listener in a host, a connection attempt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from meshfabric.lab.ssh import listens

CONNECT_TIMEOUT_S = 1


def _namespaces_permitted() -> bool:
    if os.geteuid() != 0:
        return False
    probe = f"mfprobe-{os.getpid()}"
    created = subprocess.run(["ip", "netns", "add", probe], capture_output=True, check=False)
    if created.returncode != 0:
        return False
    subprocess.run(["ip", "netns", "delete", probe], check=True)
    return True


needs_namespaces = pytest.mark.skipif(
    not _namespaces_permitted(), reason="needs root and permission to create network namespaces"
)


def lab_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "meshfabric.lab", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed


@contextmanager
def state_dir() -> Iterator[Path]:
    """A short path (ssh control sockets live under it) that the lab creates and removes."""
    with tempfile.TemporaryDirectory(prefix="mflab-", dir="/tmp") as parent:
        yield Path(parent) / "state"


def status(state: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        lab_cli("status", "-o", "json", "--state-dir", str(state)).stdout
    )
    return result


@contextmanager
def listener(namespace: str, address: str, port: int) -> Iterator[None]:
    """`nc -lk` on address:port inside `namespace`, until the block ends."""
    process = subprocess.Popen(
        ["ip", "netns", "exec", namespace, "nc", "-lk", address, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while not listens(process.pid, port):
            assert process.poll() is None, f"nc on {address}:{port} in {namespace} exited"
            assert time.monotonic() < deadline, f"nc on {address}:{port} never listened"
            time.sleep(0.01)
        yield
    finally:
        process.kill()
        process.wait()


def connects(namespace: str, address: str, port: int) -> bool:
    """Whether a TCP connection from `namespace` to address:port is accepted."""
    attempt = subprocess.run(
        ["ip", "netns", "exec", namespace, "nc", "-z", "-w", str(CONNECT_TIMEOUT_S), address,
         str(port)],
        capture_output=True,
        check=False,
    )  # fmt: skip
    return attempt.returncode == 0
