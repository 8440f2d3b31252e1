"""Envoy's bootstrap: who the proxy is, and how it reaches the control plane's ADS.

Everything else (listeners, clusters, secrets) arrives over that one ADS stream.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshfabric import __version__
from meshfabric.dataplane_api.node import (
    MESH_KEY,
    NAME_KEY,
    NO_FEATURES,
    PROXY_TYPE_KEY,
    VERSION_KEY,
    Features,
    envoy_node_id,
)
from meshfabric.dp.address import ControlPlaneAddress
from meshfabric.files import write_private

ADS_CLUSTER = "ads_cluster"
# Reconnect quickly after a control-plane restart: the default back-off waits seconds.
# (Only honoured on envoy_grpc itself, not on the enclosing GrpcService.)
RECONNECT_BACK_OFF = {"base_interval": "0.1s", "max_interval": "0.5s"}
_ADS_SOURCE = {"ads": {}, "resource_api_version": "V3"}
_HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_UPSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"


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
            "id": envoy_node_id(params.mesh, params.name),
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
    metadata = {
        MESH_KEY: params.mesh,
        NAME_KEY: params.name,
        PROXY_TYPE_KEY: params.proxy_type,
        VERSION_KEY: __version__,
    }
    return metadata | params.features.metadata()


def _ads_cluster(address: ControlPlaneAddress) -> dict[str, Any]:
    by_name = not address.unix_socket and not address.is_ip
    cluster: dict[str, Any] = {
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
    if address.tls:
        cluster["transport_socket"] = _tls_to(address)
    return cluster


def _tls_to(address: ControlPlaneAddress) -> dict[str, Any]:
    """Verify the control plane: its certificate chains to the CA and names the address dialled."""
    san_type = "IP_ADDRESS" if address.is_ip else "DNS"
    context: dict[str, Any] = {
        "@type": f"type.googleapis.com/{_UPSTREAM_TLS}",
        "common_tls_context": {
            "alpn_protocols": ["h2"],
            "validation_context": {
                "trusted_ca": {"inline_string": address.ca_cert_pem},
                "match_typed_subject_alt_names": [
                    {"san_type": san_type, "matcher": {"exact": address.host}}
                ],
            },
        },
    }
    if not address.is_ip:  # SNI carries host names only
        context["sni"] = address.host
    return {"name": "envoy.transport_sockets.tls", "typed_config": context}


def write_bootstrap(path: Path, config: dict[str, Any]) -> None:
    """Written readable by its owner only: it holds the dataplane token."""
    write_private(path, json.dumps(config, indent=2).encode())
