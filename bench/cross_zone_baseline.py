"""The hand-written baseline of the cross-zone benchmark: plain Envoys with static config
doing the same hops as the mesh, and nothing else.

A client Envoy originates mTLS (its certificate, the SNI of the service, the server's SPIFFE
ID checked) towards a server Envoy that terminates it (client certificate required) in front
of the application; an ingress and an egress Envoy in between route on the SNI with
`tcp_proxy` and terminate nothing. The certificates come from the mesh's own CA, so the
handshakes are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from meshfabric.ca.builtin import RootCa, spiffe_id

TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3."
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
TCP_PROXY = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
INSPECTOR = "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
LIFETIME = timedelta(hours=1)
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


@dataclass(frozen=True)
class Hop:
    """A client listener and where its cluster dials (the server, an ingress or an egress)."""

    listen_port: int
    upstream_port: int


def _address(port: int) -> dict[str, Any]:
    return {"socket_address": {"address": "127.0.0.1", "port_value": port}}


def _static_cluster(name: str, port: int, **extra: Any) -> dict[str, Any]:
    endpoint = {"endpoint": {"address": _address(port)}}
    assignment = {"cluster_name": name, "endpoints": [{"lb_endpoints": [endpoint]}]}
    return {"name": name, "type": "STATIC", "load_assignment": assignment, **extra}


def _http(stat_prefix: str, cluster: str) -> dict[str, Any]:
    route = {"match": {"prefix": "/"}, "route": {"cluster": cluster}}
    config = {
        "@type": HCM + "HttpConnectionManager",
        "stat_prefix": stat_prefix,
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [route]}]},
        "http_filters": [{"name": "router", "typed_config": {"@type": ROUTER}}],
    }
    return {"name": "hcm", "typed_config": config}


def _tls_context(ca: RootCa, service: str, peer: str) -> dict[str, Any]:
    identity = ca.issue([service], LIFETIME)
    return {
        "tls_certificates": [
            {
                "certificate_chain": {"inline_string": identity.cert_pem.decode()},
                "private_key": {"inline_string": identity.key_pem.decode()},
            }
        ],
        "validation_context": {
            "trusted_ca": {"inline_string": ca.cert_pem.decode()},
            "match_typed_subject_alt_names": [
                {"san_type": "URI", "matcher": {"prefix": peer}},
            ],
        },
    }


def _bootstrap(admin: Path, listeners: list[Any], clusters: list[Any]) -> dict[str, Any]:
    return {
        "admin": {"address": {"pipe": {"path": str(admin)}}},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }


def application(port: int, body: str, admin: Path) -> dict[str, Any]:
    """The application behind every path, mesh and baseline alike: an Envoy that answers
    200 and `body` itself, so that the load measures the proxies rather than a Python
    server."""
    answer = {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {
        "inline_string": body
    }}}  # fmt: skip
    config = {
        "@type": HCM + "HttpConnectionManager",
        "stat_prefix": "app",
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [answer]}]},
        "http_filters": [{"name": "router", "typed_config": {"@type": ROUTER}}],
    }
    chain = {"filters": [{"name": "hcm", "typed_config": config}]}
    listener = {"name": "app", "address": _address(port), "filter_chains": [chain]}
    return _bootstrap(admin, [listener], [])


def server(ca: RootCa, service: str, port: int, app_port: int, admin: Path) -> dict[str, Any]:
    """Terminates mTLS from any identity of the mesh, then plain HTTP to the application."""
    context = {
        "@type": TLS + "DownstreamTlsContext",
        "require_client_certificate": True,
        "common_tls_context": _tls_context(ca, service, f"spiffe://{ca.mesh}/"),
    }
    chain = {
        "filters": [_http("inbound", "app")],
        "transport_socket": {"name": "tls", "typed_config": context},
    }
    listener = {"name": "inbound", "address": _address(port), "filter_chains": [chain]}
    return _bootstrap(admin, [listener], [_static_cluster("app", app_port)])


def passthrough(sni: str, port: int, upstream_port: int, admin: Path) -> dict[str, Any]:
    """An ingress or an egress: by SNI to the next hop, TLS untouched."""
    proxy = {"@type": TCP_PROXY, "stat_prefix": "passthrough", "cluster": "next"}
    chain = {
        "filter_chain_match": {"transport_protocol": "tls", "server_names": [sni]},
        "filters": [{"name": "tcp", "typed_config": proxy}],
    }
    listener = {
        "name": "passthrough",
        "address": _address(port),
        "listener_filters": [{"name": "tls", "typed_config": {"@type": INSPECTOR}}],
        "filter_chains": [chain],
    }
    return _bootstrap(admin, [listener], [_static_cluster("next", upstream_port)])


def client(
    ca: RootCa, caller: str, service: str, sni: str, hops: list[Hop], admin: Path
) -> dict[str, Any]:
    """One plain-HTTP listener per hop, each originating mTLS towards its upstream."""
    context = {
        "@type": TLS + "UpstreamTlsContext",
        "sni": sni,
        "common_tls_context": _tls_context(ca, caller, spiffe_id(ca.mesh, service)),
    }
    listeners: list[Any] = []
    clusters: list[Any] = []
    for index, hop in enumerate(hops):
        name = f"hop-{index}"
        listeners.append(
            {"name": name, "address": _address(hop.listen_port), "filter_chains": [
                {"filters": [_http(name, name)]}
            ]}
        )  # fmt: skip
        socket = {"name": "tls", "typed_config": context}
        clusters.append(_static_cluster(name, hop.upstream_port, transport_socket=socket))
    return _bootstrap(admin, listeners, clusters)
