"""Arize Phoenix as the tests' OTLP trace store: it takes spans over OTLP/gRPC and answers
span queries over HTTP. It lives in a virtualenv of its own (`.venv-phoenix`, made by
`make setup`) and takes a while to start (about 11 s on a quiet machine, a minute or more
on a busy one), so a test module starts it once, and early.

`phoenix()` runs it on free loopback ports; `start` and `fetch` let it run elsewhere, such as
inside a lab host, and be asked from there."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.net import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("MESHFABRIC_PHOENIX_VENV", REPO / ".venv-phoenix"))
EXECUTABLE = VENV / "bin" / "phoenix"
PROJECT = "default"  # where spans land when their resource names no project
STARTUP_SECONDS = 300

Start = Callable[..., "subprocess.Popen[bytes]"]
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
    process: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self) -> Phoenix:
        wait_until(self._up, STARTUP_SECONDS, f"Phoenix to start (log: {self.log})")
        return self

    def _up(self) -> bool:
        if self.process.poll() is not None:
            tail = self.log.read_text()[-2000:]
            raise RuntimeError(f"Phoenix exited with {self.process.returncode}: {tail}")
        return self.healthy()

    def spans(self) -> list[Span]:
        """Every span stored so far (the newest thousand)."""
        text = self.fetch(f"http://{self.http}/v1/projects/{PROJECT}/spans?limit=1000")
        return [_span(item) for item in json.loads(text or '{"data": []}')["data"]]

    def healthy(self) -> bool:
        return self.fetch(f"http://{self.http}/healthz") is not None


def http_get(url: str) -> str | None:
    """The body of a GET from this process, None if nothing answers it yet."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return str(answer.read().decode())
    except (urllib.error.URLError, OSError):
        return None


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


@contextmanager
def phoenix(
    directory: Path,
    host: str = "127.0.0.1",
    ports: tuple[int, int] | None = None,
    start: Start = subprocess.Popen,
    fetch: Fetch = http_get,
    ready: bool = True,
) -> Iterator[Phoenix]:
    """Phoenix serving HTTP on host:ports[0] and OTLP/gRPC on ports[1] (free loopback ports
    when not given), started with `start` (Popen's arguments), ended by its PID. With
    `ready` false it is yielded at once, for the caller to do other work meanwhile and then
    `wait_ready()`."""
    directory.mkdir(parents=True, exist_ok=True)
    http_port, grpc_port = ports or (free_port(), free_port())
    path = directory / "phoenix.log"
    log = path.open("ab")
    process = start(
        command(),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=environment(directory, host, http_port, grpc_port),
    )
    store = Phoenix(f"{host}:{http_port}", fetch, process, path)
    try:
        yield store.wait_ready() if ready else store
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


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
