"""Per-proxy snapshots of xDS resources, versioned by content hash.

A snapshot is immutable and holds everything one proxy should run. Producers replace a
proxy's snapshot with `SnapshotCache.set`; every open stream of that proxy is told, and each
sends only what differs from what its Envoy already has. The versions are hashes of the
serialized resources, so an unchanged resource keeps its version across regenerations and
control-plane restarts, and a restarted control plane resends nothing Envoy already holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from meshfabric.xds.envoy.resource import XdsResource, content_hash
from meshfabric.xds.envoy.types import PUSH_ORDER
from meshfabric.xds.model.proxy import ProxyId

SnapshotWatcher = Callable[["Snapshot"], None]


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Every resource of one proxy, by type URL and name."""

    resources: Mapping[str, Mapping[str, XdsResource]] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Iterable[XdsResource]) -> Snapshot:
        by_type: dict[str, dict[str, XdsResource]] = {type_url: {} for type_url in PUSH_ORDER}
        for item in items:
            by_type.setdefault(item.type_url, {})[item.name] = item
        return cls(by_type)

    def replacing(self, items: Iterable[XdsResource]) -> Snapshot:
        """A copy with these resources added or replaced; the other types are shared."""
        resources = dict(self.resources)
        for item in items:
            by_name = resources[item.type_url] = dict(resources.get(item.type_url, {}))
            by_name[item.name] = item
        return Snapshot(resources)

    def of_type(self, type_url: str) -> Mapping[str, XdsResource]:
        return self.resources.get(type_url, {})

    def version(self, type_url: str, names: Iterable[str] | None = None) -> str:
        """A hash over the named resources (all of them when names is None)."""
        items = self.of_type(type_url)
        wanted = sorted(items) if names is None else sorted(n for n in names if n in items)
        return content_hash("\n".join(f"{n}={items[n].version}" for n in wanted).encode())

    @cached_property
    def versions(self) -> Mapping[str, str]:
        return {type_url: self.version(type_url) for type_url in self.resources}

    def __iter__(self) -> Iterator[XdsResource]:
        for items in self.resources.values():
            yield from items.values()


class SnapshotCache:
    """The current snapshot of every proxy, and the streams waiting for it to change."""

    def __init__(self) -> None:
        self._snapshots: dict[ProxyId, Snapshot] = {}
        self._watchers: dict[ProxyId, set[SnapshotWatcher]] = {}

    def set(self, proxy: ProxyId, snapshot: Snapshot) -> bool:
        """Store the proxy's new snapshot; returns False (and wakes nobody) if nothing changed."""
        current = self._snapshots.get(proxy)
        if current is not None and current.versions == snapshot.versions:
            return False
        self._snapshots[proxy] = snapshot
        for notify in list(self._watchers.get(proxy, ())):
            notify(snapshot)
        return True

    def get(self, proxy: ProxyId) -> Snapshot | None:
        return self._snapshots.get(proxy)

    def clear(self, proxy: ProxyId) -> None:
        self._snapshots.pop(proxy, None)

    @contextmanager
    def watch(self, proxy: ProxyId, notify: SnapshotWatcher) -> Iterator[None]:
        """Call `notify` with each new snapshot of the proxy while the block runs."""
        self._watchers.setdefault(proxy, set()).add(notify)
        try:
            yield
        finally:
            watchers = self._watchers.get(proxy)
            if watchers is not None:
                watchers.discard(notify)
                if not watchers:
                    del self._watchers[proxy]
