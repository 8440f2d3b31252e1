"""Zone authentication: a zone opens its streams with a zone token that global signed for it.

Open-source Kuma accepts any zone under any name; here the token must be valid, issued for
the very zone name the stream claims, and carry the `cp` scope, for as long as the stream
is open: a token revoked or expiring meanwhile ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass

import grpc

from meshfabric.kds.mux import AUTHORIZATION_HEADER, VERSION_HEADER, ZONE_NAME_HEADER
from meshfabric.resources import ResourceKey
from meshfabric.store.events import ChangeEvent
from meshfabric.tokens import ZONE, InvalidToken, TokenIssuer

CP_SCOPE = "cp"


class ZoneRefused(Exception):
    """A zone global will not serve; the message tells the zone's operator why."""

    def __init__(self, code: grpc.StatusCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def check_version(zone: str, zone_version: str, global_version: str) -> None:
    """ZoneRefused unless the zone's version can sync with global's: the same major version
    (for 0.x, the same minor, as semantic versioning has it)."""
    if not zone_version:
        raise ZoneRefused(
            grpc.StatusCode.FAILED_PRECONDITION,
            f'zone "{zone}" sent no {VERSION_HEADER}: run a meshfabric-cp of global\'s '
            f"version {global_version} in the zone",
        )
    if _series(zone_version) != _series(global_version):
        raise ZoneRefused(
            grpc.StatusCode.FAILED_PRECONDITION,
            f'zone "{zone}" runs meshfabric {zone_version}, global runs {global_version}: '
            f"a zone must run the same {_series_name(global_version)} as global; upgrade the "
            "older of the two",
        )


def _series(version: str) -> tuple[str, ...]:
    parts = tuple(version.split("."))
    return parts[:2] if parts[0] == "0" else parts[:1]


def _series_name(version: str) -> str:
    return ".".join(_series(version)) + ".x"


@dataclass(frozen=True)
class ZoneIdentity:
    zone: str
    token: str


async def authenticate(zones: TokenIssuer, metadata: Mapping[str, str]) -> ZoneIdentity:
    """The zone the stream's token proves, or ZoneRefused."""
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
    token = token.strip()
    try:
        claims = await zones.verify(token)
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
    return ZoneIdentity(zone, token)


async def until_refused(zones: TokenIssuer, identity: ZoneIdentity) -> ZoneRefused:
    """Wait until the zone's token no longer verifies; why, as a refusal to end its stream.

    Checked again whenever the zone token's revocation list or signing key changes, and
    when the token expires: no polling.
    """
    watched = set(ZONE.keys(""))
    async with zones.store.events.subscribe() as changes:
        while True:
            try:
                claims = await zones.verify(identity.token)
            except InvalidToken as reason:
                return ZoneRefused(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f'zone token refused for zone "{identity.zone}": {reason}',
                )
            # On timeout it has expired: the next check says so.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_change_of(changes, watched), claims["exp"] - time.time())


async def _change_of(changes: asyncio.Queue[ChangeEvent], keys: set[ResourceKey]) -> None:
    while (await changes.get()).key not in keys:
        pass
