"""Zone tokens for a zone's ingress and egress: verified in the zone with only the public
key and the revocation list global published, against real SQLite stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from meshfabric.kds.flows import ToZone
from meshfabric.resources import REGISTRY, Resource
from meshfabric.store.sqlite import SqliteStore
from meshfabric.tokens import DATAPLANE, ZONE, TokenIssuer
from meshfabric.xds.admission.auth import ProxyTokens
from meshfabric.xds.server.ads import Refused

HOUR = timedelta(hours=1)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, SqliteStore]]:
    at_global, in_zone = SqliteStore(tmp_path / "global.db"), SqliteStore(tmp_path / "zone.db")
    yield at_global, in_zone
    await at_global.close()
    await in_zone.close()


async def sync_to_zone(at_global: SqliteStore, in_zone: SqliteStore) -> None:
    """What KDS would carry of global's GlobalSecrets to zone-a."""
    rtype = REGISTRY.get("GlobalSecret")
    for secret in (await at_global.list("GlobalSecret")).items:
        exported = ToZone("zone-a").export(rtype, secret)
        if exported is not None:
            await in_zone.put(exported)


def metadata(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_only_the_public_key_and_revocations_reach_the_zone(
    stores: tuple[SqliteStore, SqliteStore],
) -> None:
    at_global, in_zone = stores
    issuer = TokenIssuer(at_global, ZONE)
    await issuer.issue({"zone": "zone-a", "scope": ["ingress"]}, HOUR)
    await issuer.publish_public_key()
    await at_global.put(Resource("GlobalSecret", "", "zone-token-revocations", {"data": "eA=="}))
    await sync_to_zone(at_global, in_zone)
    names = {secret.name for secret in (await in_zone.list("GlobalSecret")).items}
    assert names == {"zone-token-signing-public-key", "zone-token-revocations"}


async def test_a_zone_verifies_its_own_zone_tokens_for_its_zone_proxies(
    stores: tuple[SqliteStore, SqliteStore],
) -> None:
    at_global, in_zone = stores
    issuer = TokenIssuer(at_global, ZONE)
    own = await issuer.issue({"zone": "zone-a", "scope": ["ingress"]}, HOUR)
    other = await issuer.issue({"zone": "zone-b", "scope": ["ingress", "egress"]}, HOUR)
    await issuer.publish_public_key()
    await sync_to_zone(at_global, in_zone)
    tokens = ProxyTokens(TokenIssuer(in_zone, DATAPLANE), zone="zone-a")

    _, claims = await tokens.verify(metadata(own), "default", "ingress")
    assert claims["type"] == "ingress" and claims["zone"] == "zone-a"
    refusals = [
        (other, "ingress", 'it was issued for zone "zone-b", and this is zone "zone-a"'),
        (own, "egress", 'its scope lacks "egress"'),
        (own, "dataplane", 'not a proxy of type "dataplane"'),
    ]
    for token, proxy_type, reason in refusals:
        with pytest.raises(Refused) as refused:
            await tokens.verify(metadata(token), "default", proxy_type)
        assert reason in refused.value.reason
        assert refused.value.code is grpc.StatusCode.PERMISSION_DENIED


async def test_a_zone_without_globals_public_key_says_so(
    stores: tuple[SqliteStore, SqliteStore],
) -> None:
    at_global, in_zone = stores
    token = await TokenIssuer(at_global, ZONE).issue({"zone": "zone-a", "scope": ["ingress"]}, HOUR)
    with pytest.raises(Refused, match="a zone receives the public key from global"):
        await ProxyTokens(TokenIssuer(in_zone, DATAPLANE), "zone-a").verify(
            metadata(token), "default", "ingress"
        )
    with pytest.raises(Refused, match="not a zone of a global control plane"):
        await ProxyTokens(TokenIssuer(in_zone, DATAPLANE)).verify(
            metadata(token), "default", "ingress"
        )
