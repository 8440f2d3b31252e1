"""Issue and verify tokens whose signing keys and revocation lists live in the store.

Keys are RSA, so a component that only verifies needs only the public key: global publishes
the zone tokens' public key beside their signing key, and syncs it, never the signing key, to
the zones, which verify their ingresses' and egresses' zone tokens with it. Revocation works
the Kuma way: the token's `jti` is listed, comma separated, in the base64 data of a
revocation secret.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from meshfabric.resources import Resource, ResourceKey
from meshfabric.resources.common import duration_seconds
from meshfabric.resources.types.secret import secret_data
from meshfabric.store.errors import Conflict, NotFound
from meshfabric.store.protocol import Store

log = logging.getLogger(__name__)

_KEY_BITS = 2048
# Longer than any sensible token; the admin token written at start lives ten years.
MAX_VALIDITY = timedelta(days=3650)


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why, for the log and the caller."""


@dataclass(frozen=True)
class TokenKind:
    name: str  # "user", "zone", "dataplane"
    mesh_scoped: bool
    # Verified elsewhere too (zone tokens, by the zones): the public key is published.
    published: bool = False

    def signing_key_key(self, mesh: str) -> ResourceKey:
        if self.mesh_scoped:
            return ResourceKey("Secret", mesh, f"{self.name}-token-signing-key")
        return ResourceKey("GlobalSecret", "", f"{self.name}-token-signing-key")

    def revocations_key(self, mesh: str) -> ResourceKey:
        if self.mesh_scoped:
            return ResourceKey("Secret", mesh, f"{self.name}-token-revocations")
        return ResourceKey("GlobalSecret", "", f"{self.name}-token-revocations")

    def public_key_key(self, mesh: str) -> ResourceKey:
        """Where a published kind's public key is kept (Kuma's name for the zone token's)."""
        signing = self.signing_key_key(mesh)
        return ResourceKey(signing.type, signing.mesh, f"{self.name}-token-signing-public-key")

    def keys(self, mesh: str) -> tuple[ResourceKey, ...]:
        """What verification reads: a change to any of them may void a token."""
        keys = (self.signing_key_key(mesh), self.revocations_key(mesh))
        return (*keys, self.public_key_key(mesh)) if self.published else keys


USER = TokenKind("user", mesh_scoped=False)
ZONE = TokenKind("zone", mesh_scoped=False, published=True)
DATAPLANE = TokenKind("dataplane", mesh_scoped=True)


def parse_duration(text: str) -> timedelta:
    """A token lifetime as kumactl's --valid-for takes it, a Go duration: '30m', '24h',
    '8760h'; raises ValueError naming the input."""
    seconds = duration_seconds(text)
    if seconds is None:
        raise ValueError(f'"{text}" is not a duration (examples: 30m, 24h, 8760h)')
    if not 0 < seconds <= Decimal(MAX_VALIDITY.total_seconds()):
        raise ValueError(f'"{text}" must be more than 0 and at most 87600h (ten years)')
    return timedelta(seconds=float(seconds))


class TokenIssuer:
    def __init__(self, store: Store, kind: TokenKind) -> None:
        self.store = store
        self.kind = kind

    async def issue(self, claims: dict[str, Any], valid_for: timedelta, mesh: str = "") -> str:
        key = await self._signing_key(mesh) or await self._create_signing_key(mesh)
        now = datetime.now(UTC)
        payload = {
            **claims,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + valid_for,
            "kind": self.kind.name,
        }
        if self.kind.mesh_scoped:
            payload["mesh"] = mesh
        return jwt.encode(payload, key, algorithm="RS256")

    async def verify(self, token: str, mesh: str = "") -> dict[str, Any]:
        key = await self._verification_key(mesh)
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=["RS256"], options={"require": ["exp", "jti"]}
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is not valid: {exc}") from None
        if claims.get("kind") != self.kind.name:
            raise InvalidToken(f"this is not a {self.kind.name} token")
        if self.kind.mesh_scoped and claims.get("mesh") != mesh:
            raise InvalidToken(
                f'the token was issued for mesh "{claims.get("mesh")}", not "{mesh}"'
            )
        if claims["jti"] in await self.revoked(mesh):
            raise InvalidToken("the token has been revoked")
        return claims

    async def revoked(self, mesh: str = "") -> set[str]:
        secret = await self.store.get(self.kind.revocations_key(mesh))
        if secret is None:
            return set()
        try:
            listed = secret_data(secret).decode()
        except ValueError as exc:  # written before writes were checked, or behind the API
            # Refusing every token is the safe side: a revoked one must never pass.
            raise self._unusable(secret, exc) from None
        return {jti.strip() for jti in listed.split(",") if jti.strip()}

    async def publish_public_key(self) -> None:
        """Keep the published public key that of the signing key, or none without one."""
        assert self.kind.published and not self.kind.mesh_scoped
        location = self.kind.public_key_key("")
        try:
            key = await self._signing_key("")
        except InvalidToken:
            return  # unusable: every token is refused anyway; the log says why
        if key is None:
            with contextlib.suppress(NotFound):
                await self.store.delete(location)
            return
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        data = {"data": base64.b64encode(pem).decode()}
        await self.store.put(Resource(location.type, location.mesh, location.name, data))

    async def _verification_key(self, mesh: str) -> rsa.RSAPublicKey:
        """The signing key's public half; where only the public key was published to (a zone,
        for zone tokens), that."""
        key = await self._signing_key(mesh)
        if key is not None:
            return key.public_key()
        if self.kind.published:
            published = await self.store.get(self.kind.public_key_key(mesh))
            if published is not None:
                try:
                    return _load_public_key(published)
                except (ValueError, TypeError) as exc:
                    raise self._unusable(published, exc) from None
            raise InvalidToken(
                f"neither a {self.kind.name} token signing key nor its public key is here "
                "(a zone receives the public key from global once it is connected)"
            )
        raise InvalidToken(f"no {self.kind.name} token signing key exists yet")

    async def signing_key_usable(self, mesh: str = "") -> bool:
        """False when a signing key is stored but cannot be used (no key at all is usable)."""
        try:
            await self._signing_key(mesh)
        except InvalidToken:
            return False
        return True

    async def replace_signing_key(self, mesh: str = "") -> None:
        """Put a new signing key in place of the stored one: every earlier token stops verifying."""
        location = self.kind.signing_key_key(mesh)
        if await self.store.get(location) is not None:
            await self.store.delete(location)
        await self._create_signing_key(mesh)

    async def _signing_key(self, mesh: str) -> rsa.RSAPrivateKey | None:
        secret = await self.store.get(self.kind.signing_key_key(mesh))
        if secret is None:
            return None
        try:
            return _load_key(secret)
        except (ValueError, TypeError, KeyError) as exc:
            raise self._unusable(secret, exc) from None

    def _unusable(self, secret: Resource, cause: Exception) -> InvalidToken:
        log.error(
            "%s is unusable (%s): every %s token is refused until it is replaced",
            secret.key,
            cause,
            self.kind.name,
        )
        return InvalidToken(f"{secret.key} is unusable; the control plane's log says why")

    async def _create_signing_key(self, mesh: str) -> rsa.RSAPrivateKey:
        location = self.kind.signing_key_key(mesh)
        key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        secret = Resource(
            type=location.type,
            mesh=location.mesh,
            name=location.name,
            spec={"data": base64.b64encode(pem).decode()},
        )
        try:
            await self.store.put(secret, expected_version=0)
        except Conflict:
            # Another replica created it first: use theirs so every token verifies everywhere.
            existing = await self.store.get(location)
            assert existing is not None
            return _load_key(existing)
        return key


def _load_key(secret: Resource) -> rsa.RSAPrivateKey:
    key = _parse_key(secret_data(secret))
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("it does not hold an RSA private key")
    return key


def _load_public_key(secret: Resource) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(secret_data(secret))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("it does not hold an RSA public key")
    return key


@functools.lru_cache(maxsize=256)
def _parse_key(pem: bytes) -> object:
    # Parsing checks the RSA key's consistency (~0.1 s); every request verifies a token, so
    # keys are parsed once per content. A rotated key is new content, hence a new entry.
    return serialization.load_pem_private_key(pem, password=None)
