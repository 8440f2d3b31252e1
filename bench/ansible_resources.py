"""How long a run that changes nothing takes, for 100 and 500 mesh resources, four ways.

1. ``meshfabric.mesh.resources``: one task for the whole set.
2. A loop of ``meshfabric.mesh.resource``: one task per resource.
3. A loop of ``ansible.builtin.uri``: one PUT per resource (the control plane
   answers that nothing changed; uri cannot compare by itself).
4. A plain Python loop: GET each resource with httpx and compare, the way a
   script that wants to be idempotent would.

Starts its own control plane (SQLite, loopback) and stops it by PID.

    python bench/ansible_resources.py [--sizes 100 500]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.header import print_header

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COLLECTION = ("galaxy.yml", "meta", "plugins")
RUNS = ("resources", "resource loop", "uri loop", "python loop")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def control_plane(workdir: Path) -> Iterator[tuple[str, Path]]:
    """A control plane on a free loopback port: its URL and admin token file."""
    port = free_port()
    data_dir = workdir / "cp"
    command = [
        str(BIN / "meshfabric-cp"), "run", "--data-dir", str(data_dir),
        "--api-address", "127.0.0.1", "--api-port", str(port), "--api-https-port", "0",
        "--diagnostics-port", "0",
    ]  # fmt: skip
    with (workdir / "cp.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"no control plane, see {workdir / 'cp.log'}") from None
                time.sleep(0.1)
        yield url, data_dir / "admin-token"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def policies(mesh: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "MeshTimeout",
            "name": f"timeout-{i:04}",
            "mesh": mesh,
            # The label meshfabric.mesh.resources puts on what it manages, so
            # that every method below describes the same desired state.
            "labels": {"meshfabric.io/managed-by": "ansible"},
            "spec": {
                "targetRef": {"kind": "Mesh"},
                "to": [
                    {
                        "targetRef": {"kind": "MeshService", "name": f"svc-{i:04}"},
                        "default": {"connectionTimeout": "2s", "idleTimeout": "30s"},
                    }
                ],
            },
        }
        for i in range(count)
    ]


class Bench:
    def __init__(self, workdir: Path, url: str, token_file: Path) -> None:
        self.workdir = workdir
        self.url = url
        self.token_file = token_file
        collections = workdir / "collections"
        dest = collections / "ansible_collections" / "meshfabric" / "mesh"
        for name in COLLECTION:
            source = REPO / name
            copy: Callable[[Path, Path], object] = (
                shutil.copytree if source.is_dir() else shutil.copy2
            )
            dest.mkdir(parents=True, exist_ok=True)
            copy(source, dest / name)
        self.env = {
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": str(collections),
            "ANSIBLE_HOME": str(workdir / "ansible-home"),
            "ANSIBLE_LOCALHOST_WARNING": "0",
        }

    def playbook(
        self, name: str, tasks: list[dict[str, Any]], data: Path, changes: bool = False
    ) -> None:
        """Run ``tasks``; unless ``changes``, fail if the run changed anything."""
        token = self.token_file.read_text().strip()
        play = {
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {
                "ansible_python_interpreter": sys.executable,
                "resources_file": str(data),
                "base_url": self.url,
                "token": token,
            },
            "module_defaults": {
                "group/meshfabric.mesh.mesh": {"url": self.url, "token_file": str(self.token_file)}
            },
            "tasks": tasks,
        }
        path = self.workdir / f"{name}.yml"
        path.write_text(yaml.safe_dump([play], sort_keys=False))
        command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path)]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True)
        if done.returncode != 0 or not (changes or "changed=0" in done.stdout):
            raise RuntimeError(f"{name}: expected a run without changes:\n{done.stdout[-3000:]}")

    def seed(self, data: Path) -> None:
        """Create the resources (not timed)."""
        task = {"meshfabric.mesh.resources": {"src": str(data)}}
        self.playbook("seed", [task], data, changes=True)

    def run(self, method: str, resources: list[dict[str, Any]], data: Path) -> float:
        started = time.perf_counter()
        if method == "resources":
            self.playbook(method, [{"meshfabric.mesh.resources": {"src": str(data)}}], data)
        elif method == "resource loop":
            task = {
                "meshfabric.mesh.resource": {"definition": "{{ item }}"},
                "loop": "{{ lookup('file', resources_file) | from_yaml_all }}",
            }
            self.playbook("resource-loop", [task], data)
        elif method == "uri loop":
            task = {
                "ansible.builtin.uri": {
                    "url": "{{ base_url }}/meshes/{{ item.mesh }}/meshtimeouts/{{ item.name }}",
                    "method": "PUT",
                    "headers": {"Authorization": "Bearer {{ token }}"},
                    "body_format": "json",
                    "body": "{{ item }}",
                    "status_code": [200, 201],
                },
                "loop": "{{ lookup('file', resources_file) | from_yaml_all }}",
                # Evaluated per item: the control plane says whether the PUT changed anything.
                "register": "put",
                "changed_when": "put.json.outcome != 'unchanged'",
            }
            self.playbook("uri-loop", [task], data)
        else:
            self.python_loop(resources)
        return time.perf_counter() - started

    def python_loop(self, resources: list[dict[str, Any]]) -> None:
        token = self.token_file.read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=self.url, headers=headers) as client:
            for resource in resources:
                path = f"/meshes/{resource['mesh']}/meshtimeouts/{resource['name']}"
                current = client.get(path).json()
                if (current["spec"], current["labels"]) != (resource["spec"], resource["labels"]):
                    raise RuntimeError(f"{path} differs; expected a run without changes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500])
    args = parser.parse_args()
    print_header()
    timings: dict[str, dict[int, float]] = {method: {} for method in RUNS}
    with tempfile.TemporaryDirectory(prefix="bench-ansible-") as tmp:
        workdir = Path(tmp)
        with control_plane(workdir) as (url, token_file):
            bench = Bench(workdir, url, token_file)
            for size in args.sizes:
                mesh = f"bench-{size}"
                httpx.put(
                    f"{url}/meshes/{mesh}",
                    json={"type": "Mesh", "name": mesh},
                    headers={"Authorization": f"Bearer {token_file.read_text().strip()}"},
                ).raise_for_status()
                resources = policies(mesh, size)
                data = workdir / f"resources-{size}.yaml"
                data.write_text(yaml.safe_dump_all(resources, sort_keys=False))
                bench.seed(data)
                for method in RUNS:
                    timings[method][size] = bench.run(method, resources, data)
                    print(f"  {method:>14} x {size}: {timings[method][size]:.2f} s", flush=True)
    print()
    print("no-change run time, seconds " + "".join(f"{size:>10}" for size in args.sizes))
    for method in RUNS:
        row = "".join(f"{timings[method][size]:>10.2f}" for size in args.sizes)
        print(f"{method:<28}{row}")
    print(json.dumps({"no_change_seconds": timings}))


if __name__ == "__main__":
    main()
