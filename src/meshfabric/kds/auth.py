"""Zone authentication: a zone opens its streams with a zone token that global signed for it.

Open-source Kuma accepts any zone under any name; here the token must be valid, issued for
the very zone name the stream claims, and carry the `cp` scope.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from meshfabric.kds.mux import AUTHORIZATION_HEADER, ZONE_NAME_HEADER
from meshfabric.tokens import InvalidToken, TokenIssuer

CP_SCOPE = "cp"


class ZoneRefused(Exception):
    """A zone global will not serve; the message tells the zone's operator why."""

    def __init__(self, code: grpc.StatusCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def authenticate(zones: TokenIssuer, metadata: Mapping[str, str]) -> str:
    """The name of the zone the stream's token proves, or ZoneRefused."""
    zone = metadata.get(ZONE_NAME_HEADER, "").strip()
    if not zone:
        raise ZoneRefused(
            grpc.StatusCode.UNAUTHENTICATED, f"no zone name: send the {ZONE_NAME_HEADER} metadata"
        )
    scheme, _, token = metadata.get(AUTHORIZATION_HEADER, "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ZoneRefused(
            grpc.StatusCode.UNAUTHENTICATED,
            f'zone "{zone}" sent no zone token (meshctl generate zone-token --zone {zone})',
        )
    try:
        claims = await zones.verify(token.strip())
    except InvalidToken as reason:
        raise ZoneRefused(
            grpc.StatusCode.UNAUTHENTICATED, f'zone token refused for zone "{zone}": {reason}'
        ) from None
    if claims.get("zone") != zone:
        raise ZoneRefused(
            grpc.StatusCode.PERMISSION_DENIED,
            f'zone token refused: it was issued for zone "{claims.get("zone")}", not "{zone}"',
        )
    if CP_SCOPE not in (claims.get("scope") or []):
        raise ZoneRefused(
            grpc.StatusCode.PERMISSION_DENIED,
            f'zone token refused for zone "{zone}": its scope lacks "{CP_SCOPE}"',
        )
    return zone
