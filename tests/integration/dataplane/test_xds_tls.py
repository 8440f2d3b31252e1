"""The TCP xDS port serves TLS with a certificate the control plane generates and keeps;
proxies verify it against its CA, and refuse a port they cannot trust or that is plaintext."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from meshfabric.ca.builtin import new_root_pem
from tests.integration.dataplane.support import (
    Sidecar,
    ZoneControlPlane,
    seconds_until,
    sidecar_dataplane,
)
from tests.support.net import free_port, wait_until


@pytest.fixture
def tls_control_plane(tmp_path: Path) -> Iterator[ZoneControlPlane]:
    # A fixed (free) port, so a restarted control plane is found where the proxy left it.
    cp = ZoneControlPlane(tmp_path / "cp", xds_port=free_port())
    cp.start()
    yield cp
    cp.stop()


def _sidecar(cp: ZoneControlPlane, tmp_path: Path, *extra: str, address: str = "") -> Sidecar:
    dataplane = sidecar_dataplane("web-1", free_port(), free_port(), "web", "http")
    cp.apply({"type": "Mesh", "name": "default"})  # dataplane tokens are for existing meshes
    token = cp.dataplane_token("default", "web")
    cp_address = address or f"grpcs://127.0.0.1:{cp.xds_port}"
    return Sidecar(cp, tmp_path / "dp", dataplane, token, extra, cp_address=cp_address)


def _ca_files(cp: ZoneControlPlane) -> dict[str, bytes]:
    names = ("xds-ca.crt", "xds-ca.key", "xds-server.crt", "xds-server.key")
    return {name: (cp.data_dir / name).read_bytes() for name in names}


def test_envoy_gets_config_over_tls_and_reconnects_after_restart(
    tls_control_plane: ZoneControlPlane, tmp_path: Path
) -> None:
    cp = tls_control_plane
    cp.apply({"type": "Mesh", "name": "default"})
    proxy = _sidecar(cp, tmp_path, "--ca-cert-file", str(cp.xds_ca)).start()
    try:
        proxy.wait_ready()
        assert (proxy.stat("cluster.ads_cluster.ssl.handshake") or 0) >= 1
        assert "inbound:127.0.0.1" in proxy.admin("/config_dump?resource=dynamic_listeners")
        generated = _ca_files(cp)

        cp.stop()
        cp.start()

        # Same CA and certificate, so the proxy's trust still holds; and back within a second.
        assert _ca_files(cp) == generated
        assert seconds_until(proxy.connected, 5, "the proxy reconnecting over TLS") < 2
    finally:
        proxy.stop()


def test_a_proxy_given_the_wrong_ca_is_refused(
    tls_control_plane: ZoneControlPlane, tmp_path: Path
) -> None:
    tls_control_plane.apply({"type": "Mesh", "name": "default"})
    other_ca = tmp_path / "other-ca.crt"
    other_ca.write_bytes(new_root_pem(ec.generate_private_key(ec.SECP256R1()), "other CA", []))

    code, log = _sidecar(tls_control_plane, tmp_path, "--ca-cert-file", str(other_ca)).run_to_exit()

    assert code == 2
    assert "is not signed by the CA of --ca-cert-file" in log


def test_plaintext_tcp_needs_insecure(tls_control_plane: ZoneControlPlane, tmp_path: Path) -> None:
    address = f"grpc://127.0.0.1:{tls_control_plane.xds_port}"

    code, log = _sidecar(tls_control_plane, tmp_path, address=address).run_to_exit()

    assert code == 2
    assert "is plaintext TCP" in log and "--insecure" in log


def test_tls_needs_a_ca(tls_control_plane: ZoneControlPlane, tmp_path: Path) -> None:
    code, log = _sidecar(tls_control_plane, tmp_path).run_to_exit()

    assert code == 2
    assert "--ca-cert-file is needed" in log


def test_the_envoy_admin_tunnel_runs_over_the_tls_port_too(
    tls_control_plane: ZoneControlPlane, tmp_path: Path
) -> None:
    cp = tls_control_plane
    proxy = _sidecar(cp, tmp_path, "--ca-cert-file", str(cp.xds_ca)).start()
    try:
        proxy.wait_ready()

        def clusters() -> str:
            with cp.client() as client:
                answer = client.get("/meshes/default/dataplanes/web-1/clusters")
            return answer.text if answer.status_code == 200 else ""

        wait_until(lambda: bool(clusters()), 20, "the proxy's Envoy through its tunnel")
        assert f"ads_cluster::127.0.0.1:{cp.xds_port}::cx_active::1" in clusters().splitlines()
    finally:
        proxy.stop()
