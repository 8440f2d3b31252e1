"""Where the control plane's xDS server is: a Unix socket or a host and port, and whether
the port speaks TLS (grpcs://, the default for host:port) or plaintext (grpc://)."""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass
from typing import Any

DEFAULT_XDS_PORT = 5678
API_PORT = 5681  # what people paste from the REST API's URL; xDS is never served there
_SCHEMES = {"grpcs": True, "https": True, "grpc": False}  # scheme: whether it speaks TLS


@dataclass(frozen=True)
class ControlPlaneAddress:
    host: str = ""
    port: int = 0
    unix_socket: str = ""
    tls: bool = False
    ca_cert_pem: str = ""  # the CA the control plane's certificate must chain to

    @classmethod
    def parse(cls, text: str) -> ControlPlaneAddress:
        """unix:///run/cp.sock; grpcs://cp.example:5678, https://cp.example:5678 (as kuma-dp
        takes it) or cp.example:5678 for TLS; grpc://cp.example:5678 for plaintext. The port
        is 5678 when omitted."""
        if text.startswith("unix://"):
            return cls(unix_socket=text.removeprefix("unix://"))
        scheme, found, _ = text.partition("://")
        if not found:
            scheme, text = "grpcs", f"grpcs://{text}"
        if scheme not in _SCHEMES:
            raise ValueError(_wrong(text, f"{scheme}:// is not an xDS scheme"))
        try:
            parts = urllib.parse.urlsplit(text)
            host, port = parts.hostname, parts.port
        except ValueError as problem:
            raise ValueError(_wrong(text, str(problem))) from None
        if not host:
            raise ValueError(_wrong(text, "it names no host"))
        if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
            raise ValueError(_wrong(text, "it has more than a scheme, a host and a port"))
        if port == API_PORT:
            raise ValueError(_wrong(text, f"{API_PORT} is the REST API port"))
        return cls(host=host, port=port or DEFAULT_XDS_PORT, tls=_SCHEMES[scheme])

    @property
    def grpc_target(self) -> str:
        if self.unix_socket:
            return f"unix://{self.unix_socket}"
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6
        return f"{host}:{self.port}"

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    def envoy_address(self) -> dict[str, Any]:
        if self.unix_socket:
            return {"pipe": {"path": self.unix_socket}}
        return {"socket_address": {"address": self.host, "port_value": self.port}}

    def __str__(self) -> str:
        if self.unix_socket:
            return self.grpc_target
        return f"{'grpcs' if self.tls else 'grpc'}://{self.grpc_target}"


def _wrong(text: str, reason: str) -> str:
    return (
        f'--cp-address "{text}": {reason}. Give the xDS port of the zone control plane: '
        f"https://host:{DEFAULT_XDS_PORT}, grpcs://host:{DEFAULT_XDS_PORT} or "
        f"host:{DEFAULT_XDS_PORT} (TLS), grpc://host:{DEFAULT_XDS_PORT} (plaintext) or "
        "unix:///path"
    )
