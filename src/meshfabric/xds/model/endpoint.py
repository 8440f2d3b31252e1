"""One endpoint of a cluster: a local inbound (priority 0) or another zone's ingress."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    address: str
    port: int
    dataplane: str  # the Dataplane, or the ZoneIngress, behind it
    priority: int = 0
    zone: str | None = None  # the other zone it leads to; None for this zone's own instances
