"""The ZoneIngress an ingress proxy registers: where it listens, and what other zones dial."""

from __future__ import annotations

from typing import Any

from meshfabric.dp.dataplane import DataplaneError

DEFAULT_INGRESS_PORT = 10001


def spec(
    name: str | None,
    mesh: str | None,
    address: str | None,
    port: int,
    advertised_address: str | None,
    advertised_port: int | None,
) -> dict[str, Any]:
    """The registration document of an ingress. `mesh` is the mesh its token was issued for,
    the mesh whose services it passes through; the ZoneIngress itself belongs to no mesh."""
    if not name:
        raise DataplaneError("an ingress needs a name (--name)")
    if not advertised_address:
        # Other zones dial the advertised address: without one the ingress is unreachable.
        raise DataplaneError(
            "an ingress needs --advertised-address: the address other zones dial "
            "(its own address when nothing sits in front of it)"
        )
    return {
        "type": "ZoneIngress",
        "mesh": mesh or "default",
        "name": name,
        "networking": {
            "address": address or "127.0.0.1",
            "port": port,
            "advertisedAddress": advertised_address,
            "advertisedPort": advertised_port or port,
        },
    }
