"""Where the control plane's xDS server is: a Unix socket or a host and port, and whether
the port speaks TLS (grpcs://, the default for host:port) or plaintext (grpc://)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

DEFAULT_XDS_PORT = 5678


@dataclass(frozen=True)
class ControlPlaneAddress:
    host: str = ""
    port: int = 0
    unix_socket: str = ""
    tls: bool = False
    ca_cert_pem: str = ""  # the CA the control plane's certificate must chain to

    @classmethod
    def parse(cls, text: str) -> ControlPlaneAddress:
        """unix:///run/cp.sock, grpcs://cp.example:5678 (or without the scheme: the same),
        grpc://cp.example:5678 (plaintext), with the port 5678 when omitted."""
        if text.startswith("unix://"):
            return cls(unix_socket=text.removeprefix("unix://"))
        plaintext = text.startswith("grpc://")
        rest = text.removeprefix("grpc://").removeprefix("grpcs://").rstrip("/")
        host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
        if not host:
            raise ValueError(
                f'"{text}" is not a control-plane address (unix:///path or grpcs://host:port)'
            )
        return cls(host=host, port=int(port or DEFAULT_XDS_PORT), tls=not plaintext)

    @property
    def grpc_target(self) -> str:
        return f"unix://{self.unix_socket}" if self.unix_socket else f"{self.host}:{self.port}"

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
