"""A zone's ingress authorised by the zone token global issued for that zone: real global
and zone control planes, meshfabric-dp and Envoy. Another zone's token is refused, and a
revocation made at global reaches the zone and ends the ingress's stream."""

from __future__ import annotations

import base64
from pathlib import Path

import jwt
import pytest

from tests.integration.kds.conftest import Federation
from tests.integration.multizone.test_cross_zone import Ingress, start_ingress, start_zone
from tests.integration.multizone.test_cross_zone import work as work  # the fixture
from tests.support.net import wait_until

pytestmark = [pytest.mark.envoy, pytest.mark.slow]


def zone_token(federation: Federation, zone: str, *scope: str) -> str:
    with federation.global_cp.client() as client:
        issued = client.post("/tokens/zone", json={"zone": zone, "scope": list(scope)})
    issued.raise_for_status()
    return issued.text


def connected(ingress: Ingress) -> bool:
    try:
        return ingress.stat("control_plane.connected_state") == 1
    except ConnectionError:
        return False  # its Envoy is not up yet


def exited_saying(ingress: Ingress, reason: str) -> bool:
    return ingress.process.poll() is not None and reason in ingress.log


def test_a_zone_token_runs_its_zones_ingress_and_no_other_zones(
    federation: Federation, work: Path
) -> None:
    zone_a = start_zone(federation, "zone-a")
    ingresses: list[Ingress] = []
    try:
        for token, reason in [
            (
                zone_token(federation, "zone-b", "cp", "ingress"),
                'zone token refused: it was issued for zone "zone-b", and this is zone "zone-a"',
            ),
            (
                zone_token(federation, "zone-a", "cp"),
                'zone token refused for zone "zone-a": its scope lacks "ingress"',
            ),
        ]:
            refused = start_ingress(zone_a, work, ingresses, token)
            wait_until(
                lambda refused=refused, reason=reason: exited_saying(refused, reason),
                30,
                f"the refusal: {reason}",
            )

        token = zone_token(federation, "zone-a", "ingress", "egress")
        ingress = start_ingress(zone_a, work, ingresses, token)
        wait_until(lambda: connected(ingress), 30, "the ingress connected to zone A")
        with zone_a.cp.client() as client:
            assert client.get("/zoneingresses/ingress").status_code == 200

        jti = jwt.decode(token, options={"verify_signature": False})["jti"]
        with federation.global_cp.client() as client:
            revocations = {
                "type": "GlobalSecret",
                "name": "zone-token-revocations",
                "data": base64.b64encode(jti.encode()).decode(),
            }
            client.put(
                "/global-secrets/zone-token-revocations", json=revocations
            ).raise_for_status()
        reason = 'zone token refused for zone "zone-a": the token has been revoked'
        wait_until(lambda: not connected(ingress), 30, "the revoked ingress disconnected")
        wait_until(lambda: reason in zone_a.cp.log.read_text(), 30, "the reason in zone A's log")
    finally:
        for started in ingresses:
            started.process.terminate()
            started.process.wait(10)
