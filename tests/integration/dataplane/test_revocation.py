"""A proxy is served only while its token and its Dataplane last: revoking or expiring the
token, or deleting the Dataplane, ends its open xDS stream with a status that says why."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import grpc
import jwt
import pytest

from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.types import SECRET
from tests.integration.dataplane.conftest import SidecarFactory
from tests.integration.dataplane.support import ZoneControlPlane, sidecar_dataplane
from tests.support.ads import AdsClient
from tests.support.net import free_port, wait_until

# Waits, not timing targets: the stream ends well within them (bench/ measures how fast).
ENDS_WITHIN = 10


@pytest.fixture
def web(control_plane: ZoneControlPlane, mesh: str) -> Iterator[tuple[ZoneControlPlane, str]]:
    control_plane.apply(sidecar_dataplane("web-1", free_port(), free_port(), "web", "http"))
    yield control_plane, "web-1"


def connect(cp: ZoneControlPlane, token: str) -> AdsClient:
    client = AdsClient(str(cp.xds_socket), token, "default", "web-1")
    client.open([names.identity_secret("default")])
    client.wait_for(SECRET, names.identity_secret("default"))
    return client


def revoke(cp: ZoneControlPlane, token: str) -> None:
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    secret = {
        "type": "Secret",
        "mesh": "default",
        "name": "dataplane-token-revocations",
        "data": base64.b64encode(jti.encode()).decode(),
    }
    cp.apply(secret)


def test_revoking_the_token_ends_the_open_stream(web: tuple[ZoneControlPlane, str]) -> None:
    cp, _ = web
    token = cp.dataplane_token("default", "web")
    client = connect(cp, token)
    try:
        revoke(cp, token)
        ended = client.wait_until_ended(ENDS_WITHIN)
    finally:
        client.close()
    assert ended.code is grpc.StatusCode.UNAUTHENTICATED
    assert ended.details == 'dataplane token refused for mesh "default": the token has been revoked'


def test_an_expiring_token_ends_the_open_stream(web: tuple[ZoneControlPlane, str]) -> None:
    cp, _ = web
    client = connect(cp, cp.dataplane_token("default", "web", valid_for="3s"))
    try:
        ended = client.wait_until_ended(ENDS_WITHIN)
    finally:
        client.close()
    assert ended.code is grpc.StatusCode.UNAUTHENTICATED
    assert ended.details == 'dataplane token refused for mesh "default": the token has expired'


def test_deleting_the_dataplane_ends_its_open_stream(web: tuple[ZoneControlPlane, str]) -> None:
    cp, name = web
    client = connect(cp, cp.dataplane_token("default", "web"))
    try:
        cp.delete("default", "dataplanes", name)
        ended = client.wait_until_ended(ENDS_WITHIN)
    finally:
        client.close()
    assert ended.code is grpc.StatusCode.NOT_FOUND
    assert ended.details == 'dataplane "web-1" was deleted from mesh "default"'


def test_another_token_revoked_leaves_the_stream_open(web: tuple[ZoneControlPlane, str]) -> None:
    cp, _ = web
    client = connect(cp, cp.dataplane_token("default", "web"))
    try:
        revoke(cp, cp.dataplane_token("default", "web"))
        with pytest.raises(TimeoutError):
            client.wait_until_ended(2)
    finally:
        client.close()


@pytest.mark.envoy
def test_the_sidecar_log_says_why_its_stream_ended(
    control_plane: ZoneControlPlane, mesh: str, sidecar: SidecarFactory
) -> None:
    token = control_plane.dataplane_token(mesh, "web")
    dataplane = sidecar_dataplane("web-1", free_port(), free_port(), "web", "http")
    proxy = sidecar(dataplane, token).wait_ready()
    revoke(control_plane, token)
    wait_until(
        lambda: "the token has been revoked" in proxy.log.read_text(),
        ENDS_WITHIN,
        f"the reason in {proxy.log}",  # Envoy's warning, in meshfabric-dp's output
    )
