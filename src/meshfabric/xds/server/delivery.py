"""How long a change takes to reach Envoy: from the change to the ACK of every resource type
it altered, per proxy. Feeds a metric, and benchmarks listen in."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from meshfabric.metrics import XDS_DELIVERY_SECONDS
from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.model.proxy import ProxyId

DeliveryListener = Callable[[ProxyId, float], None]  # the proxy, seconds from change to ACK


@dataclass
class _Awaiting:
    started: float
    versions: dict[str, str]  # type URL -> version the proxy has yet to ACK


class DeliveryTracker:
    def __init__(self) -> None:
        self._awaiting: dict[ProxyId, _Awaiting] = {}
        self.listeners: list[DeliveryListener] = []

    def pushed(
        self, proxy: ProxyId, before: Snapshot | None, after: Snapshot, started: float
    ) -> None:
        """A new snapshot for the proxy, caused by a change at `started` (monotonic clock)."""
        previous = before.versions if before is not None else {}
        changed = {t: v for t, v in after.versions.items() if previous.get(t) != v}
        if not changed:
            return
        waiting = self._awaiting.get(proxy)
        # A change that is still on its way keeps its (earlier) start.
        self._awaiting[proxy] = _Awaiting(waiting.started if waiting else started, changed)

    def acked(self, proxy: ProxyId, type_url: str, version: str) -> None:
        waiting = self._awaiting.get(proxy)
        if waiting is None or waiting.versions.get(type_url) != version:
            return
        del waiting.versions[type_url]
        if waiting.versions:
            return
        del self._awaiting[proxy]
        seconds = time.monotonic() - waiting.started
        XDS_DELIVERY_SECONDS.observe(seconds)
        for listener in self.listeners:
            listener(proxy, seconds)

    def forget(self, proxy: ProxyId) -> None:
        self._awaiting.pop(proxy, None)
