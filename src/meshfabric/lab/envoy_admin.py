"""Asking an Envoy started in a lab host how it is, through its admin interface.

Lab hosts share the machine's file system, so an Envoy's admin Unix socket is reachable from
the machine's own namespace whichever host runs it; an admin port on the host's loopback (as
the collection's roles give a proxy) is asked from inside the host. Tests and the demo use
these to wait until a proxy is live and knows what they are about to rely on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from meshfabric.lab.lab import LabHost


@dataclass(frozen=True)
class LoopbackAdmin:
    """An admin interface on 127.0.0.1:`port` of a lab host."""

    host: LabHost
    port: int


# Where an Envoy's admin interface is: its Unix socket, or a port in its host.
Admin = Path | LoopbackAdmin


def admin_get(admin: Admin, path: str) -> str:
    """The body of GET `path` on the admin interface `admin`; an OSError if none answers."""
    if isinstance(admin, LoopbackAdmin):
        url = f"http://127.0.0.1:{admin.port}{path}"
        done = admin.host.run(["curl", "-s", url], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ConnectionError(f"{url} in {admin.host.key}: curl exit {done.returncode}")
        return str(done.stdout)
    transport = httpx.HTTPTransport(uds=str(admin))
    with httpx.Client(transport=transport, base_url="http://envoy", timeout=5) as client:
        try:
            return client.get(path).text
        except httpx.TransportError as error:
            raise ConnectionError(f"{admin}: {error}") from error


def is_live(admin: Admin) -> bool:
    """The Envoy behind `admin` answers and says it is LIVE."""
    try:
        return admin_get(admin, "/ready").strip() == "LIVE"
    except ConnectionError:
        return False


def endpoint_priorities(admin: Admin, cluster: str) -> set[int]:
    """The EDS priorities of the endpoints Envoy holds for `cluster` (empty if none)."""
    clusters = json.loads(admin_get(admin, "/clusters?format=json"))
    for status in clusters.get("cluster_statuses", []):
        if status["name"] == cluster:
            return {int(host.get("priority", 0)) for host in status.get("host_statuses", [])}
    return set()
