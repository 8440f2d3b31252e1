"""Arize Phoenix, the lab's OTLP trace store: it takes spans over OTLP/gRPC and answers span
queries over HTTP. It lives in a virtualenv of its own (`.venv-phoenix`, made by
`make setup`; `MESHFABRIC_PHOENIX_VENV` names another) and takes a while to start (about
11 s on a quiet machine, a minute or more on a busy one): start it early, do other work,
then `wait_ready()`.

`start` runs it with any process starter (`subprocess.Popen` on this machine, a lab host's
`popen` inside that host); `in_lab_host` runs it in a lab host on the ports the lab's
firewall and MeshTrace backends expect, asked from inside that host."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshfabric.lab.firewall import OTLP_PORT
from meshfabric.lab.lab import LabHost, Start

REPO = Path(__file__).resolve().parents[3]
VENV = Path(os.environ.get("MESHFABRIC_PHOENIX_VENV", REPO / ".venv-phoenix"))
EXECUTABLE = VENV / "bin" / "phoenix"
PROJECT = "default"  # where spans land when their resource names no project
HTTP_PORT = 6006  # Phoenix's own default, inside a lab host's namespace
STARTUP_SECONDS = 300

Fetch = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    attributes: Mapping[str, Any]  # by dotted name: "kuma.zone", "http.url"


@dataclass(frozen=True)
class Phoenix:
    http: str  # host:port of its HTTP API, as `fetch` reaches it
    fetch: Fetch
    process: subprocess.Popen[Any]
    log: Path

    def wait_ready(self, seconds: float = STARTUP_SECONDS) -> Phoenix:
        deadline = time.monotonic() + seconds
        while not self._up():
            if time.monotonic() > deadline:
                raise TimeoutError(f"Phoenix not up after {seconds:.0f} s (log: {self.log})")
            time.sleep(0.2)
        return self

    def _up(self) -> bool:
        if self.process.poll() is not None:
            tail = self.log.read_text()[-2000:]
            raise RuntimeError(f"Phoenix exited with {self.process.returncode}: {tail}")
        return self.healthy()

    def spans(self, *attributes: str) -> list[Span]:
        """The newest thousand spans stored so far, only those with every `key:value` of
        `attributes` if given (`"booking:KA-0042"`)."""
        query = urllib.parse.urlencode([("limit", 1000), *(("attribute", a) for a in attributes)])
        text = self.fetch(f"http://{self.http}/v1/projects/{PROJECT}/spans?{query}")
        return [_span(item) for item in json.loads(text or '{"data": []}')["data"]]

    def healthy(self) -> bool:
        return self.fetch(f"http://{self.http}/healthz") is not None

    def stop(self) -> None:
        """End it by its PID, killing it if it outlasts a grace period."""
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def command() -> list[str]:
    if not EXECUTABLE.exists():
        raise FileNotFoundError(f"no {EXECUTABLE}: `make setup` installs Arize Phoenix there")
    return [str(EXECUTABLE), "serve"]


def environment(directory: Path, host: str, http_port: int, grpc_port: int) -> dict[str, str]:
    """Phoenix's settings: its database in `directory`, its ports, no usage reporting."""
    return {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(directory),
        "PHOENIX_HOST": host,
        "PHOENIX_PORT": str(http_port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }


def start(
    directory: Path, host: str, ports: tuple[int, int], begin: Start, fetch: Fetch
) -> Phoenix:
    """Phoenix serving HTTP on host:ports[0] and OTLP/gRPC on ports[1], started with `begin`
    (Popen's arguments), its output in `directory`/phoenix.log; not ready yet."""
    directory.mkdir(parents=True, exist_ok=True)
    http_port, grpc_port = ports
    path = directory / "phoenix.log"
    with path.open("ab") as log:
        process = begin(
            command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment(directory, host, http_port, grpc_port),
        )
    return Phoenix(f"{host}:{http_port}", fetch, process, path)


def in_lab_host(host: LabHost, directory: Path) -> Phoenix:
    """Phoenix starting in `host`, taking OTLP on the lab's OTLP port of every address of the
    host, its HTTP API on the host's loopback, asked with curl from inside the host."""

    def fetch(url: str) -> str | None:
        asked = ["curl", "-sf", "--max-time", "10", url]
        done = host.run(asked, capture_output=True, text=True, check=False)
        return str(done.stdout) if done.returncode == 0 else None

    return start(directory, "127.0.0.1", (HTTP_PORT, OTLP_PORT), host.popen, fetch)


def traces(spans: Sequence[Span]) -> dict[str, list[Span]]:
    """The spans grouped by trace id."""
    grouped: dict[str, list[Span]] = {}
    for span in spans:
        grouped.setdefault(span.trace_id, []).append(span)
    return grouped


def _span(item: Mapping[str, Any]) -> Span:
    return Span(
        trace_id=item["context"]["trace_id"],
        span_id=item["context"]["span_id"],
        parent_id=item.get("parent_id"),
        name=item["name"],
        kind=item["span_kind"],
        attributes=_flat(item.get("attributes") or {}),
    )


def _flat(attributes: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Phoenix nests dotted attribute names ({"kuma": {"zone": ...}}): back to dotted ones."""
    flat: dict[str, Any] = {}
    for key, value in attributes.items():
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
