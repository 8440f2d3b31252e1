"""Dataplane tokens: a proxy is served only with a token issued for its mesh and services.

The token travels as gRPC metadata (`authorization: Bearer <token>`), on the registration
call and on every ADS stream. A token bound to a name serves only that dataplane; a token for
services serves only dataplanes whose inbounds all belong to those services.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
import jwt

from meshfabric.resources.common import SERVICE_TAG
from meshfabric.resources.types.dataplane import claimed_services
from meshfabric.tokens import InvalidToken, TokenIssuer
from meshfabric.xds.server.ads import Refused


def bearer(metadata: Mapping[str, str]) -> str:
    scheme, _, token = metadata.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(
            grpc.StatusCode.UNAUTHENTICATED,
            "no dataplane token: send 'authorization: Bearer <token>' "
            "(meshctl generate dataplane-token)",
        )
    return token.strip()


async def verify_token(
    tokens: TokenIssuer, metadata: Mapping[str, str], mesh: str
) -> Mapping[str, Any]:
    """The claims of the caller's token, if it is a valid dataplane token of the mesh."""
    token = bearer(metadata)
    try:
        return await tokens.verify(token, mesh)
    except InvalidToken as reason:
        raise token_refused(mesh, _foreign_mesh(token, mesh) or str(reason)) from None


def token_refused(mesh: str, reason: str) -> Refused:
    """At admission, or later on an open stream (the token revoked or expired meanwhile)."""
    return Refused(
        grpc.StatusCode.UNAUTHENTICATED, f'dataplane token refused for mesh "{mesh}": {reason}'
    )


def _foreign_mesh(token: str, mesh: str) -> str:
    """Name the mesh a token was issued for when it is another one: each mesh signs with its
    own key, so such a token fails as a bad signature, which says little to the operator."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    issued_for = claims.get("mesh")
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
