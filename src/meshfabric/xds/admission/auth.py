"""Proxy tokens: a proxy is served only with a token issued for its mesh and services, or,
for a zone's ingress and egress, the zone token global issued for this zone.

The token travels as gRPC metadata (`authorization: Bearer <token>`), on the registration
call and on every ADS stream. A dataplane token bound to a name serves only that dataplane;
a token for services serves only dataplanes whose inbounds all belong to those services.

A zone token authorises the zone proxies (ingress, egress) of the zone it names, for each
proxy type in its scope, in every mesh. Global signs zone tokens and keeps the signing key;
a zone verifies them with global's public key and its revocation list, both synced from
global, so a revocation reaches the zone's ingresses and egresses too, and a zone verifies
them even while global is away (with what it last received).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

import grpc
import jwt

from meshfabric.resources.common import SERVICE_TAG
from meshfabric.resources.types.dataplane import claimed_services
from meshfabric.tokens import DATAPLANE, ZONE, InvalidToken, TokenIssuer, TokenValidity
from meshfabric.tokens.validity import OnInvalid
from meshfabric.xds.server.ads import Refused

# What a zone token's scope may name besides "cp": the zone proxies it authorises.
ZONE_PROXY_TYPES = frozenset({"ingress", "egress"})


def bearer(metadata: Mapping[str, str]) -> str:
    scheme, _, token = metadata.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(
            grpc.StatusCode.UNAUTHENTICATED,
            "no dataplane token: send 'authorization: Bearer <token>' "
            "(meshctl generate dataplane-token)",
        )
    return token.strip()


class ProxyTokens:
    """Verifies and watches the tokens of this zone's proxies.

    Parameters:
        dataplanes: issues and verifies this control plane's dataplane tokens.
        zone: this zone's name; zone tokens issued for it are accepted from its zone
            proxies. "" accepts no zone token.
    """

    def __init__(self, dataplanes: TokenIssuer, zone: str = "") -> None:
        self.dataplanes = dataplanes
        self.zones = TokenIssuer(dataplanes.store, ZONE)
        self.zone = zone
        self._validity = {
            DATAPLANE.name: TokenValidity(dataplanes),
            ZONE.name: TokenValidity(self.zones),
        }

    async def verify(
        self, metadata: Mapping[str, str], mesh: str, proxy_type: str
    ) -> tuple[str, Mapping[str, Any]]:
        """(token, claims) of the caller, if its token may act as a proxy of this type in the
        mesh; the claims of a zone token name the proxy type it was accepted for, like a
        dataplane token's."""
        token = bearer(metadata)
        if _unverified(token).get("kind") == ZONE.name:
            return token, await self._verify_zone_token(token, proxy_type)
        try:
            claims = await self.dataplanes.verify(token, mesh)
        except InvalidToken as reason:
            raise token_refused({}, mesh, _foreign_mesh(token, mesh) or str(reason)) from None
        return self._validity[DATAPLANE.name].shared(token, claims, mesh)

    def watch(
        self, token: str, claims: Mapping[str, Any], on_invalid: OnInvalid, mesh: str
    ) -> AbstractContextManager[None]:
        """While the block runs, call `on_invalid` once the token stops verifying."""
        kind = claims_kind(claims)
        return self._validity[kind].watch(
            token, claims, on_invalid, "" if kind == ZONE.name else mesh
        )

    async def _verify_zone_token(self, token: str, proxy_type: str) -> Mapping[str, Any]:
        if proxy_type not in ZONE_PROXY_TYPES:
            raise Refused(
                grpc.StatusCode.PERMISSION_DENIED,
                "zone token refused: it authorises a zone's ingress and egress, not a proxy "
                f'of type "{proxy_type}"; use a dataplane token',
            )
        if not self.zone:
            raise Refused(
                grpc.StatusCode.UNAUTHENTICATED,
                "zone token refused: this control plane is not a zone of a global control "
                "plane; use a dataplane token",
            )
        try:
            claims = await self.zones.verify(token)
        except InvalidToken as reason:
            raise token_refused(_unverified(token), "", str(reason)) from None
        if claims.get("zone") != self.zone:
            raise Refused(
                grpc.StatusCode.PERMISSION_DENIED,
                f'zone token refused: it was issued for zone "{claims.get("zone")}", and this '
                f'is zone "{self.zone}"',
            )
        if proxy_type not in (claims.get("scope") or []):
            raise Refused(
                grpc.StatusCode.PERMISSION_DENIED,
                f'zone token refused for zone "{self.zone}": its scope lacks "{proxy_type}" '
                f"(meshctl generate zone-token --zone {self.zone} --scope {proxy_type})",
            )
        return {**claims, "type": proxy_type}


def claims_kind(claims: Mapping[str, Any]) -> str:
    """Which kind of token the claims are of: zone or dataplane."""
    return ZONE.name if claims.get("kind") == ZONE.name else DATAPLANE.name


def token_refused(claims: Mapping[str, Any], mesh: str, reason: str) -> Refused:
    """At admission, or later on an open stream (the token revoked or expired meanwhile)."""
    if claims_kind(claims) == ZONE.name:
        return Refused(
            grpc.StatusCode.UNAUTHENTICATED,
            f'zone token refused for zone "{claims.get("zone")}": {reason}',
        )
    return Refused(
        grpc.StatusCode.UNAUTHENTICATED, f'dataplane token refused for mesh "{mesh}": {reason}'
    )


def _unverified(token: str) -> Mapping[str, Any]:
    """The token's claims read without checking them: only to choose how to verify it."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims


def _foreign_mesh(token: str, mesh: str) -> str:
    """Name the mesh a token was issued for when it is another one: each mesh signs with its
    own key, so such a token fails as a bad signature, which says little to the operator."""
    issued_for = _unverified(token).get("mesh")
    if issued_for and issued_for != mesh:
        return f'it was issued for mesh "{issued_for}"'
    return ""


def check_claims(
    claims: Mapping[str, Any], name: str, spec: Mapping[str, Any], proxy_type: str
) -> None:
    """Raise Refused unless the token's claims let it act as this dataplane."""
    problem = _token_mismatch(claims, name, spec, proxy_type)
    if problem:
        raise Refused(grpc.StatusCode.PERMISSION_DENIED, f"dataplane token refused: {problem}")


def _token_mismatch(
    claims: Mapping[str, Any], name: str, spec: Mapping[str, Any], proxy_type: str
) -> str:
    if claims.get("name") and claims["name"] != name:
        return f'it was issued for dataplane "{claims["name"]}", not "{name}"'
    token_type = claims.get("type") or "dataplane"
    if token_type != proxy_type:
        return f'it was issued for a proxy of type "{token_type}", not "{proxy_type}"'
    allowed = set((claims.get("tags") or {}).get(SERVICE_TAG) or [])
    claimed = claimed_services(spec)
    if allowed and not claimed <= allowed:
        foreign = ", ".join(sorted(claimed - allowed))
        granted = ", ".join(sorted(allowed))
        return f"it was issued for service {granted}, but the dataplane serves {foreign}"
    return ""
