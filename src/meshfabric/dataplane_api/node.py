"""The node an Envoy of meshfabric-dp presents to the ADS server: its id and metadata."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Node metadata keys meshfabric-dp's bootstrap sets and the control plane reads.
MESH_KEY = "mesh"
NAME_KEY = "name"
PROXY_TYPE_KEY = "proxyType"
DNS_ADDRESS_KEY = "dnsAddress"
VIPS_KEY = "vips"
VERSION_KEY = "version"  # meshfabric-dp's own version
METRICS_SOCKET_KEY = "metricsSocket"
# Where a MeshMetric's OpenTelemetry listener answers meshfabric-dp what to push (JSON: the
# policy's `sidecar` settings, the resource attributes and each backend's endpoint and
# refresh interval), so meshfabric-dp can push Envoy's stats as OTLP.
METRICS_PUSH_SOCKET_KEY = "metricsPushSocket"
# Where meshfabric-dp reads the access-log lines of Tcp backends (a FIFO) and forwards them.
ACCESS_LOG_PIPE_KEY = "accessLogPipe"
# The cluster through which a MeshMetric's listener reaches that socket.
METRICS_CLUSTER = "meshfabric_metrics"
# The request header in which a MeshMetric's listener tells meshfabric-dp's metrics server
# what the policy keeps (JSON: the policy's `sidecar` settings).
METRICS_CONF_HEADER = "x-meshfabric-metrics-sidecar"


def envoy_node_id(mesh: str, name: str) -> str:
    """The node id Envoy reports, Kuma's <mesh>.<dataplane name>: for Envoy and people to
    read, never a key (the control plane reads the mesh and name from the node metadata)."""
    return f"{mesh}.{name}"


@dataclass(frozen=True, slots=True)  # one per connected proxy that has a DNS listener
class DnsAddress:
    """Where the proxy's DNS listener binds (UDP), as its meshfabric-dp asked."""

    address: str
    port: int

    @classmethod
    def parse(cls, text: str) -> DnsAddress | None:
        """ "127.0.0.1:15053" -> DnsAddress; None for "" or anything malformed."""
        address, _, port = text.rpartition(":")
        return cls(address, int(port)) if address and port.isdigit() else None

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True, slots=True)  # held per connected proxy
class Features:
    """What a proxy's meshfabric-dp prepared on its host, so the control plane may use it:
    a DNS listener address, VIPs that Envoy can bind (routed to lo), the Unix socket of
    its metrics server (Envoy's stats filtered as a MeshMetric says), the Unix socket on
    which it asks what to push as OTLP metrics, and the FIFO from which it forwards
    MeshAccessLog's Tcp lines."""

    dns: DnsAddress | None = None
    vips: bool = False
    metrics_socket: str = ""
    access_log_pipe: str = ""
    metrics_push_socket: str = ""

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> Features:
        dns = DnsAddress.parse(metadata.get(DNS_ADDRESS_KEY, ""))
        metrics = metadata.get(METRICS_SOCKET_KEY, "")
        pipe = metadata.get(ACCESS_LOG_PIPE_KEY, "")
        push = metadata.get(METRICS_PUSH_SOCKET_KEY, "")
        found = cls(dns, metadata.get(VIPS_KEY) == "true", metrics, pipe, push)
        # One object for every proxy whose host offers nothing more, rather than one each.
        return NO_FEATURES if found == NO_FEATURES else found

    def metadata(self) -> dict[str, str]:
        found = {VIPS_KEY: "true"} if self.vips else {}
        if self.metrics_socket:
            found[METRICS_SOCKET_KEY] = self.metrics_socket
        if self.access_log_pipe:
            found[ACCESS_LOG_PIPE_KEY] = self.access_log_pipe
        if self.metrics_push_socket:
            found[METRICS_PUSH_SOCKET_KEY] = self.metrics_push_socket
        return found | ({DNS_ADDRESS_KEY: str(self.dns)} if self.dns else {})


NO_FEATURES = Features()
