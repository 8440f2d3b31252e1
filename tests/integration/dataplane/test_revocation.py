"""A proxy is served only while its token and its Dataplane last: revoking or expiring the
token, deleting the Dataplane or giving it a service the token does not cover ends its open
xDS stream with a status that says why."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

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
REFUSED = 'dataplane token refused for mesh "default": '


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


def _revoke_it(cp: ZoneControlPlane, token: str) -> None:
    revoke(cp, token)


def _delete_its_dataplane(cp: ZoneControlPlane, token: str) -> None:
    cp.delete("default", "dataplanes", "web-1")


def _move_it_to_another_service(cp: ZoneControlPlane, token: str) -> None:
    cp.apply(sidecar_dataplane("web-1", free_port(), free_port(), "backend", "http"))


def _let_it_expire(cp: ZoneControlPlane, token: str) -> None:
    pass  # issued for 3s below


@pytest.mark.parametrize(
    ("valid_for", "change", "code", "details"),
    [
        ("1h", _revoke_it, grpc.StatusCode.UNAUTHENTICATED, f"{REFUSED}the token has been revoked"),
        ("3s", _let_it_expire, grpc.StatusCode.UNAUTHENTICATED, f"{REFUSED}the token has expired"),
        (
            "1h",
            _delete_its_dataplane,
            grpc.StatusCode.NOT_FOUND,
            'dataplane "web-1" was deleted from mesh "default"',
        ),
        (
            "1h",
            _move_it_to_another_service,
            grpc.StatusCode.PERMISSION_DENIED,
            "dataplane token refused: it was issued for service web, "
            "but the dataplane serves backend",
        ),
    ],
    ids=["token-revoked", "token-expired", "dataplane-deleted", "dataplane-changed-service"],
)
def test_the_open_stream_ends_with_the_reason(
    web: tuple[ZoneControlPlane, str],
    valid_for: str,
    change: Callable[[ZoneControlPlane, str], None],
    code: grpc.StatusCode,
    details: str,
) -> None:
    cp, _ = web
    token = cp.dataplane_token("default", "web", valid_for=valid_for)
    client = connect(cp, token)
    try:
        change(cp, token)
        ended = client.wait_until_ended(ENDS_WITHIN)
    finally:
        client.close()
    assert (ended.code, ended.details) == (code, details)


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
