"""What both ADS protocols share: the hooks a stream reports to, and nonces."""

from __future__ import annotations

from typing import Protocol

from meshfabric.xds.model.proxy import ProxyId


class StreamHooks(Protocol):
    """Told about what each proxy's Envoy accepts or refuses."""

    def acked(self, proxy: ProxyId, type_url: str, version: str) -> None: ...

    def nacked(self, proxy: ProxyId, type_url: str, version: str, error: str) -> None: ...


class Nonces:
    """Per-stream response nonces: unique, so a late answer to an old response is recognisable."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        self._last += 1
        return str(self._last)
