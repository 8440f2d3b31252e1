"""Listening ports held by one process only.

gRPC servers set SO_REUSEPORT by default on Linux: a second control plane on the same host
would bind the same xDS port without an error, and the kernel would split the proxies
between two databases. Every port here is bound exclusively, and a taken port stops the
control plane before it announces that it started.
"""

from __future__ import annotations

import socket
from pathlib import Path

# For grpc.aio.server(options=...): a taken port fails to bind instead of being shared.
GRPC_EXCLUSIVE_PORT = ("grpc.so_reuseport", 0)


class PortInUse(Exception):
    """A port this process must listen on is held by another one (or cannot be bound)."""


def in_use(what: str, target: str, cause: object) -> PortInUse:
    return PortInUse(
        f"cannot listen on {target} for {what}: the port is in use (is another control "
        f"plane running on this host?) or the address is not this host's ({cause})"
    )


def bind_tcp(what: str, address: str, port: int) -> socket.socket:
    """A listening socket on address:port, never shared (no SO_REUSEPORT)."""
    try:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return socket.create_server((address, port), family=family, reuse_port=False)
    except OSError as error:
        raise in_use(what, f"{address}:{port}", error.strerror or error) from None


def claim_unix_socket(what: str, path: Path) -> None:
    """Make way for a new socket file at path: remove one a dead process left behind, but
    refuse one that a live process still listens on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            path.unlink(missing_ok=True)
            return
    raise in_use(what, f"unix:{path}", "a process answers on it")
