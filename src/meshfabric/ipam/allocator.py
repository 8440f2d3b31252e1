"""Hand out addresses of one range, each to one resource at a time."""

from __future__ import annotations

import ipaddress
from typing import Any

from meshfabric.resources import Resource


class RangeExhausted(Exception):
    pass


def vips(resource: Resource) -> list[str]:
    """The VIPs recorded in a resource's status (Kuma's `status.vips[].ip`)."""
    status: dict[str, Any] = resource.status or {}
    return [str(item["ip"]) for item in status.get("vips") or [] if item.get("ip")]


class VipAllocator:
    """Addresses of one network, handed out in order from a cursor that wraps around, so a
    released address is reused only after all others (a stale DNS answer for it then points
    nowhere rather than at another service)."""

    def __init__(self, network: ipaddress.IPv4Network) -> None:
        self._network = network
        self._used: set[int] = set()
        self._first = int(network.network_address) + 1
        self._last = int(network.broadcast_address) - 1
        self._cursor = self._first

    def reserve(self, address: str) -> bool:
        """Claim an address already in use; False if it is outside the range or taken."""
        value = int(ipaddress.IPv4Address(address))
        if not self._first <= value <= self._last or value in self._used:
            return False
        self._used.add(value)
        return True

    def allocate(self) -> str:
        size = self._last - self._first + 1
        for _ in range(size):
            value, self._cursor = self._cursor, self._cursor + 1
            if self._cursor > self._last:
                self._cursor = self._first
            if value not in self._used:
                self._used.add(value)
                return str(ipaddress.IPv4Address(value))
        raise RangeExhausted(f"no free address left in {self._network}")

    def release(self, address: str) -> None:
        self._used.discard(int(ipaddress.IPv4Address(address)))
