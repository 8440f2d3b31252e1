"""One endpoint of a cluster: a local inbound (priority 0) or another zone's ingress."""

from __future__ import annotations

from typing import NamedTuple


class Endpoint(NamedTuple):
    """A tuple: the endpoint index makes one per ready inbound of the mesh at every change of
    its dataplanes, and a tuple builds in a fraction of a frozen dataclass's time."""

    address: str
    port: int
    dataplane: str  # the Dataplane, or the ZoneIngress, behind it
    priority: int = 0
    zone: str | None = None  # the other zone it leads to; None for this zone's own instances
