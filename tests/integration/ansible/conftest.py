"""A real control plane and ansible-playbook runs against it, with the collection from this tree.

The collection is copied to a temporary ``ansible_collections/meshfabric/mesh``
and found through ANSIBLE_COLLECTIONS_PATH, so neither an installed copy nor
one in ~/.ansible can shadow it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
COLLECTION_PATHS = ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "COLLECTION.md")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answered on {url} (log: {log})")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class ControlPlane:
    url: str
    token_file: Path

    @property
    def token(self) -> str:
        return self.token_file.read_text().strip()

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                data = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            data, status = error.read(), error.code
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data.decode()

    def names(self, path: str) -> set[str]:
        status, body = self.request("GET", path)
        assert status == 200, body
        return {item["name"] for item in body["items"]}


@pytest.fixture
def control_plane(tmp_path: Path) -> Iterator[ControlPlane]:
    """meshfabric-cp (standalone zone mode, SQLite) on a free loopback port."""
    data_dir = tmp_path / "cp"
    data_dir.mkdir()
    port = free_port()
    log = tmp_path / "cp.log"
    command = [
        str(BIN / "meshfabric-cp"), "run", "--data-dir", str(data_dir),
        "--api-address", "127.0.0.1", "--api-port", str(port), "--diagnostics-port", "0",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(url + "/", process, log)
        yield ControlPlane(url, data_dir / "admin-token")
    finally:
        stop(process)


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("collections")
    dest = root / "ansible_collections" / "meshfabric" / "mesh"
    dest.mkdir(parents=True)
    for name in COLLECTION_PATHS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, dest / name)
    return root


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    tasks: dict[str, dict[str, Any]]

    def result(self, task: str) -> dict[str, Any]:
        """The result of the task named ``task`` on localhost."""
        return self.tasks[task]


class Ansible:
    """ansible-playbook and ansible-inventory as subprocesses, with the collection under test."""

    def __init__(self, collections: Path, workdir: Path) -> None:
        self.workdir = workdir
        self.env = {
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": str(collections),
            "ANSIBLE_HOME": str(workdir / "ansible-home"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        }

    def playbook(
        self,
        tasks: list[dict[str, Any]],
        variables: dict[str, Any] | None = None,
        check: bool = False,
        diff: bool = False,
        env: dict[str, str] | None = None,
        control_plane: ControlPlane | None = None,
    ) -> PlaybookRun:
        """Run ``tasks`` on localhost; with ``control_plane``, every module of the
        collection's action group connects to it through module_defaults."""
        play: dict[str, Any] = {
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": sys.executable, **(variables or {})},
        }
        if control_plane:
            connection = {"url": control_plane.url, "token_file": str(control_plane.token_file)}
            play["module_defaults"] = {"group/meshfabric.mesh.mesh": connection}
        play["tasks"] = tasks
        path = self.workdir / "playbook.yml"
        path.write_text(yaml.safe_dump([play], sort_keys=False))
        command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path)]
        command += ["--check"] if check else []
        command += ["--diff"] if diff else []
        done = subprocess.run(
            command, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=300
        )
        tasks_by_name = {}
        if done.stdout.strip().startswith("{"):
            report = json.loads(done.stdout)
            for play_report in report["plays"]:
                for task in play_report["tasks"]:
                    tasks_by_name[task["task"]["name"]] = task["hosts"]["localhost"]
        return PlaybookRun(done.returncode, done.stdout + done.stderr, tasks_by_name)

    def inventory(self, source: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
        command = [str(BIN / "ansible-inventory"), "-i", str(source), "--list"]
        done = subprocess.run(
            command, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        inventory: dict[str, Any] = json.loads(done.stdout)
        return inventory


@pytest.fixture
def ansible(collections_path: Path, tmp_path: Path) -> Ansible:
    return Ansible(collections_path, tmp_path)
