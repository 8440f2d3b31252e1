"""A second control plane on a taken port stops at once and says so, before it claims to
have started; it never shares the port with the first one."""

from __future__ import annotations

from pathlib import Path

from tests.integration.dataplane.support import ZoneControlPlane
from tests.support.net import free_port


def test_a_second_control_plane_on_the_xds_port_exits_before_it_starts(tmp_path: Path) -> None:
    port = free_port()
    first = ZoneControlPlane(tmp_path / "first", xds_port=port)
    first.start()
    try:
        code, log = ZoneControlPlane(tmp_path / "second", xds_port=port).run_to_exit()
    finally:
        first.stop()
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port} for xDS: the port is in use" in log
    assert "started" not in log


def test_a_second_control_plane_on_the_api_port_exits_before_it_starts(tmp_path: Path) -> None:
    first = ZoneControlPlane(tmp_path / "first")
    first.start()
    second = ZoneControlPlane(tmp_path / "second")
    second.port = first.port
    try:
        code, log = second.run_to_exit()
    finally:
        first.stop()
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{first.port} for the REST API" in log
    assert "started" not in log
