"""The Dataplane a proxy runs: from a YAML document, from flags, or both (flags win)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from meshfabric.dataplane_api.mesh import PROTOCOL_TAG, SERVICE_TAG


class DataplaneError(ValueError):
    pass


def load(
    document: str | None,
    name: str | None,
    mesh: str | None,
    address: str | None,
    inbounds: Sequence[str] = (),
    outbounds: Sequence[str] = (),
) -> dict[str, Any]:
    dataplane: dict[str, Any] = yaml.safe_load(document) if document else {}
    if not isinstance(dataplane, dict):
        raise DataplaneError("the Dataplane must be a YAML mapping")
    if dataplane.setdefault("type", "Dataplane") != "Dataplane":
        raise DataplaneError(f'expected a Dataplane, got type "{dataplane["type"]}"')
    for key, value in (("name", name), ("mesh", mesh)):
        if value:
            dataplane[key] = value
    dataplane.setdefault("mesh", "default")
    networking = dataplane.setdefault("networking", {})
    if address:
        networking["address"] = address
    networking.setdefault("address", "127.0.0.1")
    if inbounds:
        networking["inbound"] = [parse_inbound(text) for text in inbounds]
    if outbounds:
        networking["outbound"] = [parse_outbound(text) for text in outbounds]
    if not dataplane.get("name"):
        raise DataplaneError("the Dataplane needs a name (--name or name: in the YAML)")
    return dataplane


def parse_inbound(text: str) -> dict[str, Any]:
    """PORT:SERVICE_PORT:SERVICE[:PROTOCOL], e.g. 15001:8080:flight-control:http."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or not all(parts[:3]):
        raise DataplaneError(f'inbound "{text}": want PORT:SERVICE_PORT:SERVICE[:PROTOCOL]')
    tags = {SERVICE_TAG: parts[2]}
    if len(parts) == 4:
        tags[PROTOCOL_TAG] = parts[3]
    return {"port": _port(parts[0], text), "servicePort": _port(parts[1], text), "tags": tags}


def parse_outbound(text: str) -> dict[str, Any]:
    """PORT:SERVICE, e.g. 10001:flight-control."""
    port, _, service = text.partition(":")
    if not service:
        raise DataplaneError(f'outbound "{text}": want PORT:SERVICE')
    return {"port": _port(port, text), "tags": {SERVICE_TAG: service}}


def main_service(dataplane: dict[str, Any]) -> str:
    """The service Envoy reports as its cluster: the first inbound's."""
    for inbound in (dataplane.get("networking") or {}).get("inbound") or []:
        service = (inbound.get("tags") or {}).get(SERVICE_TAG)
        if service:
            return str(service)
    return str(dataplane["name"])


def _port(value: str, text: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise DataplaneError(f'"{text}": "{value}" is not a port') from None
    if not 0 < port < 65536:
        raise DataplaneError(f'"{text}": {port} is not a port')
    return port
