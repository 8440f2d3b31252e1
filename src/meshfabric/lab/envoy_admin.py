"""Asking an Envoy started in a lab host how it is, through its admin Unix socket.

Lab hosts share the machine's file system, so an Envoy's admin socket is reachable from the
machine's own namespace whichever host runs it: tests and the demo use these to wait until a
proxy is live and knows what they are about to rely on.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx


def admin_get(socket: Path, path: str) -> str:
    """The body of GET `path` on the admin interface behind `socket`."""
    transport = httpx.HTTPTransport(uds=str(socket))
    with httpx.Client(transport=transport, base_url="http://envoy", timeout=5) as client:
        return client.get(path).text


def is_live(socket: Path) -> bool:
    """The Envoy behind `socket` answers and says it is LIVE."""
    try:
        return socket.exists() and admin_get(socket, "/ready").strip() == "LIVE"
    except httpx.TransportError:
        return False


def endpoint_priorities(socket: Path, cluster: str) -> set[int]:
    """The EDS priorities of the endpoints Envoy holds for `cluster` (empty if none)."""
    clusters = json.loads(admin_get(socket, "/clusters?format=json"))
    for status in clusters.get("cluster_statuses", []):
        if status["name"] == cluster:
            return {int(host.get("priority", 0)) for host in status.get("host_statuses", [])}
    return set()
