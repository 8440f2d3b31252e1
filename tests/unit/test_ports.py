"""Ports and sockets held by one process only."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from meshfabric.ports import PortInUse, bind_tcp, claim_unix_socket


def test_a_tcp_port_is_never_shared() -> None:
    with bind_tcp("the test", "127.0.0.1", 0) as first:
        first.listen()
        port = first.getsockname()[1]
        with pytest.raises(PortInUse, match=f"127.0.0.1:{port} for the test"):
            bind_tcp("the test", "127.0.0.1", port)


def test_a_unix_socket_a_process_listens_on_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "xds.sock"
    with socket.socket(socket.AF_UNIX) as live:
        live.bind(str(path))
        live.listen()
        with pytest.raises(PortInUse, match="a process answers on it"):
            claim_unix_socket("xDS", path)
    assert path.exists()


def test_a_unix_socket_left_by_a_dead_process_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "xds.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(path))  # bound, never listening: what a killed process leaves
    claim_unix_socket("xDS", path)
    assert not path.exists()
