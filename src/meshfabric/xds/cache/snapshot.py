"""Per-proxy snapshots of xDS resources, versioned by content hash.

A snapshot is immutable and holds everything one proxy should run. Producers replace a
proxy's snapshot with `SnapshotCache.set`; every open stream of that proxy is told, and each
sends only what differs from what its Envoy already has. The versions are hashes of the
serialized resources, so an unchanged resource keeps its version across regenerations and
control-plane restarts, and a restarted control plane resends nothing Envoy already holds.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property

from meshfabric.watchers import Watchers
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
            found = by_type.get(item.type_url)
            if found is None:  # a type outside PUSH_ORDER; no dict made for every item
                found = by_type[item.type_url] = {}
            found[item.name] = item
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

    def versions_by_name(self, type_url: str) -> Mapping[str, str] | None:
        """Name -> version of the type's resources, one map for every stream whose Envoy
        holds exactly these; None for a snapshot not from the cache."""
        items = self.of_type(type_url)
        return _Versions(items) if isinstance(items, _ByName) else None

    def version(self, type_url: str, names: Iterable[str] | None = None) -> str:
        """A hash over the named resources (all of them when names is None)."""
        items = self.of_type(type_url)
        wanted = sorted(items) if names is None else sorted(n for n in names if n in items)
        return content_hash("\n".join(f"{n}={items[n].version}" for n in wanted).encode())

    @cached_property
    def versions(self) -> Mapping[str, str]:
        return {type_url: self.version(type_url) for type_url in self.resources}

    def shared(self) -> Snapshot:
        """This snapshot with each type's resources in a map shared by every snapshot that
        holds exactly the same ones: proxies alike in their outbounds hold the same clusters,
        endpoints and routes, so each such map (and its version) is kept once."""
        resources = {t: _shared(v, self.of_type(t)) for t, v in self.versions.items()}
        snapshot = Snapshot(resources)
        snapshot.__dict__["versions"] = {t: items.version for t, items in resources.items()}
        return snapshot

    def __iter__(self) -> Iterator[XdsResource]:
        for items in self.resources.values():
            yield from items.values()


class _ByName(dict[str, XdsResource]):
    """One type's resources by name, and their version; weakly referenced from _SHARED, so
    it lives as long as a snapshot holds it."""

    __slots__ = ("__weakref__", "version")

    def __init__(self, items: Mapping[str, XdsResource], version: str) -> None:
        super().__init__(items)
        self.version = version


class _Versions(Mapping[str, str]):
    """Name -> version of a shared map's resources, read from the map: no copy of them."""

    __slots__ = ("_items",)

    def __init__(self, items: _ByName) -> None:
        self._items = items

    def __getitem__(self, name: str) -> str:
        return self._items[name].version

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


_SHARED: weakref.WeakValueDictionary[str, _ByName] = weakref.WeakValueDictionary()


def _shared(version: str, items: Mapping[str, XdsResource]) -> _ByName:
    found = _SHARED.get(version)  # a hash of the names and contents; of any type, so compared
    if found is not None and found == items:
        return found
    own = _ByName(items, version)
    if found is None:
        _SHARED[version] = own
    return own  # the same version over other resources: a hash collision, kept apart


class SnapshotCache:
    """The current snapshot of every proxy, and the streams waiting for it to change."""

    def __init__(self) -> None:
        self._snapshots: dict[ProxyId, Snapshot] = {}
        self._watchers: Watchers[ProxyId, SnapshotWatcher] = Watchers()

    def set(self, proxy: ProxyId, snapshot: Snapshot) -> bool:
        """Store the proxy's new snapshot; returns False (and wakes nobody) if nothing changed."""
        current = self._snapshots.get(proxy)
        if current is not None and current.versions == snapshot.versions:
            return False
        snapshot = snapshot.shared()
        self._snapshots[proxy] = snapshot
        for notify in self._watchers.of(proxy):
            notify(snapshot)
        return True

    def get(self, proxy: ProxyId) -> Snapshot | None:
        return self._snapshots.get(proxy)

    def clear(self, proxy: ProxyId) -> None:
        self._snapshots.pop(proxy, None)

    def watch(self, proxy: ProxyId, notify: SnapshotWatcher) -> AbstractContextManager[None]:
        """Call `notify` with each new snapshot of the proxy while the block runs."""
        return self._watchers.watching(proxy, notify)
