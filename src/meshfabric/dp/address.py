"""Where the control plane's xDS server is: a Unix socket or a host and port."""

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

    @classmethod
    def parse(cls, text: str) -> ControlPlaneAddress:
        """unix:///run/cp.sock, grpc://cp.example:5678, cp.example:5678 or cp.example."""
        if text.startswith("unix://"):
            return cls(unix_socket=text.removeprefix("unix://"))
        rest = text.removeprefix("grpc://").rstrip("/")
        host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
        if not host:
            raise ValueError(f'"{text}" is not a control-plane address (unix:///path or host:port)')
        return cls(host=host, port=int(port or DEFAULT_XDS_PORT))

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
        return self.grpc_target
