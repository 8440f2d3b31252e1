"""The xDS server as a control-plane component: gRPC listeners, reconciler, insights, and
the proxies' Envoy admin tunnels."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc

from meshfabric.ca.identities import IdentityProvider
from meshfabric.ports import GRPC_EXCLUSIVE_PORT, claim_unix_socket, in_use
from meshfabric.store.manager import ResourceManager
from meshfabric.tokens import TokenIssuer
from meshfabric.xds.admission.admission import DataplaneAdmission
from meshfabric.xds.admission.auth import ProxyTokens
from meshfabric.xds.admission.envoy_admin import EnvoyAdminTunnels
from meshfabric.xds.admission.insights import ProxyInsights
from meshfabric.xds.admission.registration import RegistrationService
from meshfabric.xds.cache.snapshot import SnapshotCache
from meshfabric.xds.inspect import Inspector
from meshfabric.xds.model.context import DEFAULT_ZONE
from meshfabric.xds.reconcile import Reconciler
from meshfabric.xds.server.ads import AggregatedDiscovery

log = logging.getLogger(__name__)

# Proxies behind NAT or idle firewalls would otherwise lose a quiet stream without noticing.
_GRPC_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    GRPC_EXCLUSIVE_PORT,
]


@dataclass(frozen=True)
class Listen:
    address: str
    port: int  # 0 picks a free port
    unix_socket: Path | None = None
    # (certificate PEM, key PEM) of the TCP port; None serves it in plaintext.
    # The Unix socket stays plaintext: only local processes the file mode admits reach it.
    tls: tuple[bytes, bytes] | None = None


class XdsComponent:
    def __init__(
        self,
        manager: ResourceManager,
        tokens: TokenIssuer,
        instance_id: str,
        debounce_seconds: float,
        creates_ca_roots: bool = True,
        zone: str = DEFAULT_ZONE,
        accepts_zone_tokens: bool = False,
    ) -> None:
        """`accepts_zone_tokens` in a zone of a global control plane: its zone proxies may
        present the zone token global issued for the zone."""
        store = manager.store
        proxy_tokens = ProxyTokens(tokens, zone if accepts_zone_tokens else "")
        self.cache = SnapshotCache()
        self.identities = IdentityProvider(store, creates_ca_roots)
        self.reconciler = Reconciler(store, self.cache, self.identities, debounce_seconds, zone)
        self.insights = ProxyInsights(store, instance_id)
        self.insights.ack_listeners.append(self.reconciler.delivery.acked)
        self.identities.issue_listeners.append(self.insights.certificate_issued)
        self.inspector = Inspector(self.reconciler, self.cache, self.identities)
        admission = DataplaneAdmission(store, proxy_tokens, self.reconciler, self.insights)
        self._discovery = AggregatedDiscovery(self.cache, admission, self.insights)
        self.envoy_admin = EnvoyAdminTunnels(admission, store, instance_id)
        self._registration = RegistrationService(
            manager, proxy_tokens, self.insights.connected_since
        )
        self._server: grpc.aio.Server | None = None
        self._reconciling: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self, listen: Listen) -> None:
        server = grpc.aio.server(options=_GRPC_OPTIONS)
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(self._discovery, server)
        server.add_generic_rpc_handlers([self._registration.handler(), self.envoy_admin.handler()])
        self.port = _add_tcp_port(server, listen)
        if listen.unix_socket is not None:
            claim_unix_socket("xDS", listen.unix_socket)
            server.add_insecure_port(f"unix:{listen.unix_socket}")
        self._reconciling = asyncio.create_task(self.reconciler.run(), name="xds-reconciler")
        await server.start()
        self._server = server
        log.info(
            "xDS server started",
            extra={
                "xds_port": self.port,
                "xds_tls": listen.tls is not None,
                "xds_socket": str(listen.unix_socket or ""),
            },
        )

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=1)
        if self._reconciling is not None:
            self._reconciling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconciling
        await self.insights.flush()


def _add_tcp_port(server: grpc.aio.Server, listen: Listen) -> int:
    target = f"{listen.address}:{listen.port}"
    try:
        if listen.tls is None:
            port: int = server.add_insecure_port(target)
            return port
        cert_pem, key_pem = listen.tls
        credentials = grpc.ssl_server_credentials([(key_pem, cert_pem)])
        port = server.add_secure_port(target, credentials)
        return port
    except RuntimeError as failed:  # gRPC's only word for it: "Failed to bind to address"
        raise in_use("xDS", target, failed) from None
