"""A global control plane and federated zones, each a real meshfabric-cp process on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.control_plane import ControlPlane
from tests.support.net import free_port

MESH = {
    "type": "Mesh",
    "name": "default",
    "mtls": {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]},
}


@dataclass
class Federation:
    global_cp: ControlPlane
    kds_port: int
    start: Callable[..., ControlPlane]
    tmp_path: Path

    @property
    def address(self) -> str:
        return f"grpcs://127.0.0.1:{self.kds_port}"

    @property
    def ca_file(self) -> Path:
        return self.global_cp.data_dir / "kds-ca.crt"

    def zone_token(self, zone: str, valid_for: str = "24h") -> Path:
        with self.global_cp.client() as client:
            issued = client.post("/tokens/zone", json={"zone": zone, "validFor": valid_for})
            issued.raise_for_status()
        path = self.tmp_path / f"{zone}-{free_port()}.token"
        path.write_text(issued.text)
        return path

    def start_zone(
        self,
        zone: str,
        token_file: Path | None = None,
        *args: str,
        env: dict[str, str] | None = None,
    ) -> ControlPlane:
        return self.start(
            env or {},
            "--mode", "zone", "--zone", zone,
            "--global-address", self.address,
            "--zone-token-file", str(token_file or self.zone_token(zone)),
            "--global-ca-file", str(self.ca_file),
            *args,
            name=zone,
        )  # fmt: skip


@pytest.fixture
def federation(
    start_control_plane: Callable[..., ControlPlane], tmp_path: Path
) -> Iterator[Federation]:
    kds_port = free_port()
    global_cp = start_control_plane(
        {}, "--mode", "global", "--kds-port", str(kds_port), name="global"
    )
    with global_cp.client() as client:
        client.put("/meshes/default", json=MESH).raise_for_status()
    yield Federation(global_cp, kds_port, start_control_plane, tmp_path)
