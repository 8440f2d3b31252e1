"""Envoy's bootstrap: who the proxy is, and how it reaches the control plane's ADS.

Everything else (listeners, clusters, secrets) arrives over that one ADS stream.
"""

from __future__ import annotations

import enum
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshfabric.dp.address import ControlPlaneAddress
from meshfabric.xds.proxy import NO_FEATURES, Features

ADS_CLUSTER = "ads_cluster"
# Reconnect quickly after a control-plane restart: the default back-off waits seconds.
# (Only honoured on envoy_grpc itself, not on the enclosing GrpcService.)
RECONNECT_BACK_OFF = {"base_interval": "0.1s", "max_interval": "0.5s"}
_ADS_SOURCE = {"ads": {}, "resource_api_version": "V3"}
_HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


class XdsProtocol(enum.StrEnum):
    DELTA = "delta"
    SOTW = "sotw"  # state of the world, for proxies that predate delta xDS


@dataclass(frozen=True)
class BootstrapParams:
    mesh: str
    name: str
    service: str
    proxy_type: str
    token: str
    control_plane: ControlPlaneAddress
    admin_address: dict[str, Any]  # an Envoy Address: a pipe or a socket address
    xds_protocol: XdsProtocol = XdsProtocol.DELTA
    features: Features = NO_FEATURES  # what this host offers: a DNS address, VIPs on lo


def bootstrap(params: BootstrapParams) -> dict[str, Any]:
    grpc_service = {
        "envoy_grpc": {
            "cluster_name": ADS_CLUSTER,
            "retry_policy": {"retry_back_off": RECONNECT_BACK_OFF},
        },
        "initial_metadata": [{"key": "authorization", "value": f"Bearer {params.token}"}],
    }
    api_type = "DELTA_GRPC" if params.xds_protocol is XdsProtocol.DELTA else "GRPC"
    return {
        "node": {
            "id": f"{params.mesh}.{params.name}",
            "cluster": params.service,
            "metadata": _metadata(params),
        },
        "admin": {"address": params.admin_address},
        "dynamic_resources": {
            "ads_config": {
                "api_type": api_type,
                "transport_api_version": "V3",
                "set_node_on_first_message_only": True,
                "grpc_services": [grpc_service],
            },
            "cds_config": _ADS_SOURCE,
            "lds_config": _ADS_SOURCE,
        },
        "static_resources": {"clusters": [_ads_cluster(params.control_plane)]},
    }


def _metadata(params: BootstrapParams) -> dict[str, str]:
    metadata = {"mesh": params.mesh, "name": params.name, "proxyType": params.proxy_type}
    return metadata | params.features.metadata()


def _ads_cluster(address: ControlPlaneAddress) -> dict[str, Any]:
    by_name = not address.unix_socket and not address.is_ip
    return {
        "name": ADS_CLUSTER,
        "type": "STRICT_DNS" if by_name else "STATIC",
        "connect_timeout": "1s",
        "typed_extension_protocol_options": {
            _HTTP_OPTIONS: {
                "@type": f"type.googleapis.com/{_HTTP_OPTIONS}",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {
            "cluster_name": ADS_CLUSTER,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": address.envoy_address()}}]}],
        },
    }


def write_bootstrap(path: Path, config: dict[str, Any]) -> None:
    """Written readable by its owner only: it holds the dataplane token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(config, file, indent=2)
