"""Mesh facts a proxy's host needs: the tags a Dataplane is read by, the VIP ranges."""

from __future__ import annotations

import ipaddress

SERVICE_TAG = "kuma.io/service"
PROTOCOL_TAG = "kuma.io/protocol"

# Kuma's ranges: a VIP tells at a glance which kind of service it stands for.
VIP_RANGES = {
    "MeshService": ipaddress.IPv4Network("241.0.0.0/8"),
    "MeshExternalService": ipaddress.IPv4Network("242.0.0.0/8"),
    "MeshMultiZoneService": ipaddress.IPv4Network("243.0.0.0/8"),
}
