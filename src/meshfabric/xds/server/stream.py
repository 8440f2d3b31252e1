"""What both ADS protocols share: the hooks a stream reports to, and nonces."""

from __future__ import annotations

import itertools
from typing import Protocol

from meshfabric.xds.model.proxy import ProxyId


class StreamHooks(Protocol):
    """Told about what each proxy's Envoy accepts or refuses."""

    def acked(self, proxy: ProxyId, type_url: str, version: str) -> None: ...

    def nacked(self, proxy: ProxyId, type_url: str, version: str, error: str) -> None: ...


class Nonces:
    """Per-stream response nonces: unique, so a late answer to an old response is recognisable."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self) -> str:
        return str(next(self._counter))
