"""A control plane with an mTLS mesh, and sidecars that are stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.dataplane.support import (
    Sidecar,
    ZoneControlPlane,
    mtls_mesh,
    sidecar_dataplane,
)
from tests.support.net import free_port
from tests.support.netns import Namespace


@pytest.fixture
def control_plane(tmp_path: Path) -> Iterator[ZoneControlPlane]:
    cp = ZoneControlPlane(tmp_path / "cp")
    cp.start()
    yield cp
    cp.stop()


@pytest.fixture
def mesh(control_plane: ZoneControlPlane) -> str:
    control_plane.apply(mtls_mesh("default"))
    return "default"


SidecarFactory = Callable[..., Sidecar]


@pytest.fixture
def sidecar(control_plane: ZoneControlPlane, tmp_path: Path) -> Iterator[SidecarFactory]:
    started: list[Sidecar] = []

    def start(
        dataplane: dict[str, Any],
        token: str | None = None,
        *extra: str,
        netns: Namespace | None = None,
    ) -> Sidecar:
        services = [i["tags"]["kuma.io/service"] for i in dataplane["networking"]["inbound"]]
        token = token or control_plane.dataplane_token(dataplane["mesh"], *services)
        proxy = Sidecar(control_plane, tmp_path / "dp", dataplane, token, extra, netns).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


@dataclass
class Pair:
    """A client service reaching a server service through its sidecar's outbound port."""

    server: Sidecar
    client: Sidecar
    outbound: int

    @property
    def proxies(self) -> tuple[Sidecar, Sidecar]:
        return (self.server, self.client)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.outbound}/"


PairFactory = Callable[..., Pair]


@pytest.fixture
def pair(sidecar: SidecarFactory) -> PairFactory:
    """start(server_app_port, protocol, server="backend", client="web", *extra_dp_args)."""

    def start(
        app_port: int, protocol: str, server: str = "backend", client: str = "web", *extra: str
    ) -> Pair:
        outbound = free_port()
        server_dp = sidecar_dataplane(f"{server}-1", free_port(), app_port, server, protocol)
        client_dp = sidecar_dataplane(
            f"{client}-1", free_port(), free_port(), client, protocol, {outbound: server}
        )
        started = Pair(sidecar(server_dp, None, *extra), sidecar(client_dp, None, *extra), outbound)
        for proxy in started.proxies:
            proxy.wait_ready()
        return started

    return start
