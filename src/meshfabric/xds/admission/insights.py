"""What each connected proxy accepted and refused, kept as its DataplaneInsight.

Counts are kept in memory on the hot path; the insight resource is written only when
something a person would look for happens: a connection, a disconnection, a rejection, a
(re)issued mTLS certificate. A rejection is also logged with Envoy's reason.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from meshfabric.ca.builtin import WorkloadCertificate
from meshfabric.ca.identities import Identity
from meshfabric.metrics import XDS_REJECTIONS
from meshfabric.resources import Resource
from meshfabric.store.protocol import Store
from meshfabric.xds.envoy.types import SHORT_NAMES
from meshfabric.xds.model.proxy import ProxyId

log = logging.getLogger(__name__)

AckListener = Callable[[ProxyId, str, str], None]


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _now() -> str:
    return _timestamp(datetime.now(UTC))


@dataclass(slots=True)
class _Subscription:
    """Held per connected proxy: what the insight says, kept as compact as it can be and
    formatted only when written."""

    control_plane: str
    version: dict[str, Any]  # Kuma's shape: {"kumaDp": {...}, "envoy": {...}}
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connect_time: str = field(default_factory=_now)
    disconnect_time: str | None = None
    acked: dict[str, int] = field(default_factory=dict)
    # What most proxies never have (rejections, a certificate) is made when it first happens.
    rejected: dict[str, int] | None = None
    last_rejection: dict[str, dict[str, str]] | None = None
    certificate: WorkloadCertificate | None = None  # the latest issued, for Kuma's mTLS
    regenerations: int = 0

    def certificate_issued(self, identity: Identity) -> None:
        self.certificate = identity.certificate
        self.regenerations += 1

    def rejection(self, type_url: str, version: str, error: str) -> None:
        if self.rejected is None or self.last_rejection is None:
            self.rejected, self.last_rejection = {}, {}
        self.rejected[type_url] = self.rejected.get(type_url, 0) + 1
        self.last_rejection[type_url] = {"version": version, "error": error, "time": _now()}

    def as_insight(self) -> dict[str, Any]:
        rejected, last_rejection = self.rejected or {}, self.last_rejection or {}
        status: dict[str, Any] = {
            "lastUpdateTime": _now(),
            "total": {
                "responsesAcknowledged": sum(self.acked.values()),
                "responsesRejected": sum(rejected.values()),
            },
        }
        for type_url, short in SHORT_NAMES.items():
            entry: dict[str, Any] = {
                "responsesAcknowledged": self.acked.get(type_url, 0),
                "responsesRejected": rejected.get(type_url, 0),
            }
            if type_url in last_rejection:
                entry["lastRejection"] = last_rejection[type_url]
            status[short] = entry
        subscription: dict[str, Any] = {
            "id": self.id,
            "controlPlaneInstanceId": self.control_plane,
            "connectTime": self.connect_time,
            "status": status,
            "version": self.version,
        }
        if self.disconnect_time:
            subscription["disconnectTime"] = self.disconnect_time
        insight: dict[str, Any] = {"subscriptions": [subscription]}
        if self.certificate is not None:
            insight["mTLS"] = {
                "certificateExpirationTime": _timestamp(self.certificate.not_after),
                "lastCertificateRegeneration": _timestamp(self.certificate.issued_at),
                "certificateRegenerations": self.regenerations,
            }
        return insight


class ProxyInsights:
    """Implements the stream hooks; also lets others (benchmarks, metrics) watch ACKs."""

    def __init__(self, store: Store, control_plane_id: str) -> None:
        self._store = store
        self._control_plane = control_plane_id
        self._subscriptions: dict[ProxyId, _Subscription] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self.ack_listeners: list[AckListener] = []

    def connected(self, proxy: ProxyId, version: dict[str, Any] | None = None) -> None:
        """`version`: what the proxy runs, in Kuma's shape (see `proxy_versions`)."""
        self._subscriptions[proxy] = _Subscription(self._control_plane, version or {})
        self._persist(proxy)

    def certificate_issued(self, mesh: str, name: str, identity: Identity) -> None:
        """Record a (re)issued workload certificate of a connected proxy: one write each."""
        proxy = ProxyId(mesh, name)
        subscription = self._subscriptions.get(proxy)
        if subscription is not None:
            subscription.certificate_issued(identity)
            self._persist(proxy)

    def connected_since(self, proxy: ProxyId) -> str | None:
        """ "connected since <time>" while the proxy has a stream here, else None."""
        subscription = self._subscriptions.get(proxy)
        return f"connected since {subscription.connect_time}" if subscription else None

    def disconnected(self, proxy: ProxyId) -> None:
        subscription = self._subscriptions.get(proxy)
        if subscription is not None:
            subscription.disconnect_time = _now()
            self._persist(proxy)
            del self._subscriptions[proxy]

    def acked(self, proxy: ProxyId, type_url: str, version: str) -> None:
        subscription = self._subscriptions.get(proxy)
        if subscription is not None:
            subscription.acked[type_url] = subscription.acked.get(type_url, 0) + 1
        for listener in self.ack_listeners:
            listener(proxy, type_url, version)

    def nacked(self, proxy: ProxyId, type_url: str, version: str, error: str) -> None:
        short = SHORT_NAMES.get(type_url, type_url)
        XDS_REJECTIONS.labels(short).inc()
        log.warning(
            "proxy %s rejected %s version %s: %s",
            proxy,
            short,
            version,
            error,
            extra={"mesh": proxy.mesh, "dataplane": proxy.name, "type": short, "version": version},
        )
        subscription = self._subscriptions.get(proxy)
        if subscription is None:
            return
        subscription.rejection(type_url, version, error)
        self._persist(proxy)

    async def flush(self) -> None:
        """Wait for the insight writes already started (shutdown, tests)."""
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    def _persist(self, proxy: ProxyId) -> None:
        subscription = self._subscriptions[proxy]
        insight = Resource(
            type="DataplaneInsight",
            mesh=proxy.mesh,
            name=proxy.name,
            spec=subscription.as_insight(),
        )
        task = asyncio.get_running_loop().create_task(self._write(insight))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, insight: Resource) -> None:
        try:
            await self._store.put(insight)
        except Exception:
            log.exception("could not record %s", insight.key)
