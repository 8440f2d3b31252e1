"""Zone authentication and ownership, with real global and zone processes."""

from __future__ import annotations

import base64
import time

import grpc
import jwt
import pytest
from envoy.service.discovery.v3.discovery_pb2 import DeltaDiscoveryRequest

from meshfabric import __version__
from meshfabric.kds.mux import (
    AUTHORIZATION_HEADER,
    VERSION_HEADER,
    ZONE_NAME_HEADER,
    global_to_zone_stub,
)
from meshfabric.kds.names import hashed_name
from tests.integration.kds.conftest import Federation
from tests.integration.kds.test_sync import TIMEOUT, get, put, timeout_policy, wait_for
from tests.support.control_plane import ControlPlane
from tests.support.net import wait_until


def logged(cp: ControlPlane, text: str) -> bool:
    return text in cp.log.read_text()


def test_a_zone_holding_another_zones_token_is_refused(federation: Federation) -> None:
    zone_a_token = federation.zone_token("zone-a")
    impostor = federation.start_zone("zone-b", zone_a_token)
    reason = 'zone token refused: it was issued for zone "zone-a", not "zone-b"'
    wait_until(lambda: logged(impostor, reason), TIMEOUT, "the refusal in zone B's log")
    assert logged(federation.global_cp, reason)
    assert get(federation.global_cp, "/zones/zone-b").status_code == 404
    assert get(impostor, "/meshes/default").status_code == 404, "nothing synced to it"


def test_an_expired_or_revoked_zone_token_is_refused(federation: Federation) -> None:
    expired = federation.zone_token("zone-a", valid_for="1s")
    time.sleep(1.5)
    zone_a = federation.start_zone("zone-a", expired)
    wait_until(
        lambda: logged(zone_a, 'zone token refused for zone "zone-a": the token has expired'),
        TIMEOUT,
        "the expiry in zone A's log",
    )
    revoked = federation.zone_token("zone-b")
    jti = jwt.decode(revoked.read_text(), options={"verify_signature": False})["jti"]
    put(
        federation.global_cp,
        "/global-secrets/zone-token-revocations",
        {
            "type": "GlobalSecret",
            "name": "zone-token-revocations",
            "data": base64.b64encode(jti.encode()).decode(),
        },
    )
    zone_b = federation.start_zone("zone-b", revoked)
    wait_until(
        lambda: logged(zone_b, 'zone token refused for zone "zone-b": the token has been revoked'),
        TIMEOUT,
        "the revocation in zone B's log",
    )
    assert get(federation.global_cp, "/zones").json()["total"] == 0


def test_a_zone_cannot_overwrite_what_global_made(federation: Federation) -> None:
    # A global policy under the very name zone B's own "slow" would get at global.
    taken = hashed_name("default", "slow", "zone-b")
    put(federation.global_cp, f"/meshes/default/meshtimeouts/{taken}", timeout_policy(taken, "1s"))
    zone_b = federation.start_zone("zone-b")
    wait_for(zone_b, f"/meshes/default/meshtimeouts/{taken}", "global's policy in zone B")
    put(zone_b, "/meshes/default/meshtimeouts/slow", timeout_policy("slow", "30s"))
    reason = f'MeshTimeout default/{taken} was made by global; zone "zone-b" may not change it'
    wait_until(lambda: logged(zone_b, reason), TIMEOUT, "global's NACK in zone B's log")
    at_global = get(federation.global_cp, f"/meshes/default/meshtimeouts/{taken}").json()
    assert at_global["spec"]["to"][0]["default"]["connectionTimeout"] == "1s"
    assert at_global["labels"]["kuma.io/origin"] == "global"
    time.sleep(2)
    assert zone_b.log.read_text().count(reason) == 1, "a refused batch is not sent again"


def insight_closed(federation: Federation, zone: str) -> bool:
    overview = get(federation.global_cp, "/zones/_overview").json()
    for item in overview["items"]:
        if item["name"] == zone:
            return "disconnectTime" in item["zoneInsight"]["subscriptions"][-1]
    return False


def test_a_connected_zone_whose_token_is_revoked_is_disconnected(federation: Federation) -> None:
    token = federation.zone_token("zone-a")
    zone_a = federation.start_zone("zone-a", token)
    wait_for(zone_a, "/meshes/default", "the mesh in zone A")
    jti = jwt.decode(token.read_text(), options={"verify_signature": False})["jti"]
    put(
        federation.global_cp,
        "/global-secrets/zone-token-revocations",
        {
            "type": "GlobalSecret",
            "name": "zone-token-revocations",
            "data": base64.b64encode(jti.encode()).decode(),
        },
    )
    reason = 'zone token refused for zone "zone-a": the token has been revoked'
    wait_until(lambda: logged(zone_a, reason), TIMEOUT, "the revocation in zone A's log")
    wait_until(lambda: insight_closed(federation, "zone-a"), TIMEOUT, "zone A disconnected")
    assert logged(federation.global_cp, f"disconnecting a zone: {reason}")


def test_a_connected_zone_is_disconnected_when_its_token_expires(federation: Federation) -> None:
    # Long enough for a zone to start and sync on a busy machine before it expires.
    zone_a = federation.start_zone("zone-a", federation.zone_token("zone-a", valid_for="20s"))
    wait_for(zone_a, "/meshes/default", "the mesh in zone A")
    assert not insight_closed(federation, "zone-a")
    reason = 'zone token refused for zone "zone-a": the token has expired'
    wait_until(lambda: logged(zone_a, reason), 20 + TIMEOUT, "the expiry in zone A's log")
    wait_until(lambda: insight_closed(federation, "zone-a"), TIMEOUT, "zone A disconnected")


async def open_stream_as(federation: Federation, zone: str, version: str) -> grpc.aio.AioRpcError:
    """Open global-to-zone with a valid token but the given version; global's refusal."""
    token = federation.zone_token(zone).read_text().strip()
    credentials = grpc.ssl_channel_credentials(federation.ca_file.read_bytes())
    metadata = (
        (ZONE_NAME_HEADER, zone),
        (AUTHORIZATION_HEADER, f"Bearer {token}"),
        (VERSION_HEADER, version),
    )
    async with grpc.aio.secure_channel(f"127.0.0.1:{federation.kds_port}", credentials) as channel:
        call = global_to_zone_stub(channel)(iter([DeltaDiscoveryRequest()]), metadata=metadata)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in call:
                pass
    return refused.value


async def test_a_zone_of_an_incompatible_version_is_refused_naming_both(
    federation: Federation,
) -> None:
    refused = await open_stream_as(federation, "zone-a", "9.0.0")
    assert refused.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert refused.details() == (
        f'zone "zone-a" runs meshfabric 9.0.0, global runs {__version__}: a zone must run '
        f"the same {'.'.join(__version__.split('.')[:2])}.x as global; upgrade the older of the two"
    )
    assert get(federation.global_cp, "/zones/zone-a").status_code == 404
