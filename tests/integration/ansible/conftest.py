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
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.ansible_lab import (
    BIN,
    MESH_HOSTS,
    REPO,
    CrossZone,
    Deployment,
    Run,
    copy_collection,
    lab_deployment,
    pip_wheel,
)
from tests.support.control_plane import ControlPlane

__all__ = ["BIN", "REPO"]  # for the modules of this directory that import them from here


def token_file(cp: ControlPlane) -> Path:
    """The admin token the control plane wrote on first start."""
    return cp.data_dir / "admin-token"


def request(cp: ControlPlane, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One REST call with the admin token: status and decoded JSON body."""
    with cp.client() as client:
        response = client.request(method, path, json=body)
    return response.status_code, response.json() if response.content else None


def names(cp: ControlPlane, path: str) -> set[str]:
    status, body = request(cp, "GET", path)
    assert status == 200, body
    return {item["name"] for item in body["items"]}


@pytest.fixture
def control_plane(start_control_plane: Callable[..., ControlPlane]) -> ControlPlane:
    """meshfabric-cp (standalone, SQLite) on a free loopback port, stopped after the test."""
    return start_control_plane()


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a process this test started, by its PID."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_collection(tmp_path_factory.mktemp("collections"))


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """meshfabric built from this tree, with every wheel it depends on: what the collection's
    roles install on hosts that reach no package index. Built once for every test that needs
    it (the build downloads the dependencies)."""
    path = tmp_path_factory.mktemp("wheelhouse")
    pip_wheel(REPO, path)
    return path


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
            connection = {"url": control_plane.url, "token_file": str(token_file(control_plane))}
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


# One lab for the session, and one site.yml run that deploys the whole mesh onto it: the
# tests of site.yml (test_roles_lab.py) check that deployment, and those of upgrade.yml and
# teardown.yml (test_upgrade_lab.py) go on from there.
@pytest.fixture(scope="session")
def deployment(
    collections_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    # A short path: each host's supervisord socket lives under it, and a Unix socket's path
    # has at most 107 bytes (pytest's own temporary paths grow with each xdist worker).
    work = Path(tempfile.mkdtemp(prefix="mfsite-", dir="/tmp"))
    try:
        with lab_deployment(collections_path, work) as deployed:
            yield deployed
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def mesh_run(deployment: Deployment) -> Run:
    """site.yml's first run: global, both zones, their ingresses and egresses, flight-control's
    sidecars in both zones and the client's in us-east-1, the mesh with mTLS and its policies."""
    CrossZone.host_vars(deployment)
    return deployment.site("--limit", ",".join(MESH_HOSTS))


@pytest.fixture(scope="session")
def cross_zone(deployment: Deployment, mesh_run: Run) -> Iterator[CrossZone]:
    """flight-control's apps started on the deployed mesh, answering the client from both
    zones."""
    assert mesh_run.returncode == 0, mesh_run.output
    traffic = CrossZone(deployment)
    try:
        traffic.start()
        yield traffic
    finally:
        traffic.stop()
