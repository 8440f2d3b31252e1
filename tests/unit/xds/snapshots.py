"""Small snapshots of real Envoy messages for protocol tests."""

from __future__ import annotations

from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.model.proxy import ProxyId


def snapshot(clusters: dict[str, int], endpoints: dict[str, int] | None = None) -> Snapshot:
    """Clusters named by key (the value changes their content), and load assignments; with
    its maps shared, as the snapshot cache hands snapshots to streams."""
    items = [
        XdsResource.encode(name, envoy.static_cluster(name, "127.0.0.1", port))
        for name, port in clusters.items()
    ]
    items += [
        XdsResource.encode(name, envoy.load_assignment(name, [("127.0.0.1", port)]))
        for name, port in (endpoints or {}).items()
    ]
    return Snapshot.of(items).shared()


class RecordingHooks:
    def __init__(self) -> None:
        self.acks: list[tuple[ProxyId, str, str]] = []
        self.nacks: list[tuple[ProxyId, str, str, str]] = []

    def acked(self, proxy: ProxyId, type_url: str, version: str) -> None:
        self.acks.append((proxy, type_url, version))

    def nacked(self, proxy: ProxyId, type_url: str, version: str, error: str) -> None:
        self.nacks.append((proxy, type_url, version, error))
