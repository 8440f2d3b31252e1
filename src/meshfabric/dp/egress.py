"""The ZoneEgress an egress proxy registers: where its zone's sidecars dial it."""

from __future__ import annotations

from typing import Any

from meshfabric.dp.dataplane import DataplaneError

DEFAULT_EGRESS_PORT = 10002


def spec(name: str | None, mesh: str | None, address: str | None, port: int) -> dict[str, Any]:
    """The registration document of an egress. `mesh` is the mesh its token was issued for,
    the mesh whose traffic it carries; the ZoneEgress itself belongs to no mesh."""
    if not name:
        raise DataplaneError("an egress needs a name (--name)")
    if not address:
        # The sidecars of the zone dial this address: a default would reach nobody.
        raise DataplaneError("an egress needs --address: the address its zone's sidecars dial")
    return {
        "type": "ZoneEgress",
        "mesh": mesh or "default",
        "name": name,
        "networking": {"address": address, "port": port},
    }
