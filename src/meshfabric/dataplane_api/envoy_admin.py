"""The Envoy admin tunnel on the xDS port, as envoy_admin.proto declares it.

The messages are generated from that file (`make proto`). Replies travel in chunks of at
most CHUNK_BYTES, well under gRPC's default 4 MiB message limit, so a large config dump
needs no special channel options on either side.
"""

from __future__ import annotations

from meshfabric.dataplane_api import envoy_admin_pb2

SERVICE = envoy_admin_pb2.DESCRIPTOR.services_by_name["EnvoyAdminTunnel"].full_name
OPEN_METHOD = f"/{SERVICE}/Open"
CHUNK_BYTES = 1 << 20
# What AdminRequest.kind may ask, and the Envoy admin path that answers it.
CONFIG_DUMP, STATS, CLUSTERS = "config_dump", "stats", "clusters"
ENVOY_PATHS = {CONFIG_DUMP: "/config_dump", STATS: "/stats", CLUSTERS: "/clusters"}
# What a dataplane token is replaced by wherever the proxy's Envoy would show it (its
# bootstrap holds the token, and the config dump shows the bootstrap).
REDACTED = b"[redacted]"
