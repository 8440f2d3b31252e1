"""A builtin CA per mesh and mTLS backend.

The root key and certificate live in two mesh Secrets named the way Kuma names them
(`<mesh>.ca-builtin-key-<backend>`, `<mesh>.ca-builtin-cert-<backend>`), so every control-plane
replica signs with the same root. Both are created with "must not exist yet" writes; a
replica that loses the race adopts the winner's.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from meshfabric.resources import Resource, ResourceKey
from meshfabric.resources.types.secret import secret_data
from meshfabric.store.errors import Conflict
from meshfabric.store.protocol import Store

ROOT_LIFETIME = timedelta(days=3650)
# Leaf validity starts a little in the past so a peer whose clock runs behind accepts it.
CLOCK_SKEW = timedelta(minutes=1)


def spiffe_id(mesh: str, service: str) -> str:
    return f"spiffe://{mesh}/{service}"


@dataclass(frozen=True)
class WorkloadCertificate:
    cert_pem: bytes
    key_pem: bytes
    issued_at: datetime
    not_after: datetime


@dataclass(frozen=True)
class RootCa:
    mesh: str
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @functools.cached_property
    def cert_pem(self) -> bytes:
        # Encoded once: each proxy's identity is checked against it whenever the proxy's
        # config is regenerated, and keeps it (one shared copy, not one per proxy).
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, services: list[str], lifetime: timedelta) -> WorkloadCertificate:
        """A workload certificate whose URI SANs are the SPIFFE IDs of the services."""
        uris = [x509.UniformResourceIdentifier(spiffe_id(self.mesh, s)) for s in sorted(services)]
        return issue_leaf(self.key, self.cert, uris, lifetime)


def issue_leaf(
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate,
    sans: Sequence[x509.GeneralName],
    lifetime: timedelta,
) -> WorkloadCertificate:
    """A leaf certificate (server and client auth) identified only by its SANs."""
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + lifetime)
        .add_extension(x509.SubjectAlternativeName(sans), critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )
    return WorkloadCertificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        issued_at=now,
        not_after=now + lifetime,
    )


def root_secret_keys(mesh: str, backend: str) -> tuple[ResourceKey, ResourceKey]:
    """(key secret, certificate secret) of a mesh's builtin backend."""
    return (
        ResourceKey("Secret", mesh, f"{mesh}.ca-builtin-key-{backend}"),
        ResourceKey("Secret", mesh, f"{mesh}.ca-builtin-cert-{backend}"),
    )


async def ensure_root(store: Store, mesh: str, backend: str) -> RootCa:
    """The mesh's root CA for the backend, created on first use."""
    key_location, cert_location = root_secret_keys(mesh, backend)
    key_pem = await _create_or_adopt(store, key_location, new_key_pem)
    key = _private_key(key_pem)
    spiffe_root = [x509.UniformResourceIdentifier(f"spiffe://{mesh}")]
    cert_pem = await _create_or_adopt(
        store, cert_location, lambda: new_root_pem(key, f"{mesh} builtin CA", spiffe_root)
    )
    return RootCa(mesh, key, x509.load_pem_x509_certificate(cert_pem))


async def load_root(store: Store, mesh: str, backend: str) -> RootCa | None:
    """The mesh's root CA for the backend if both its secrets are stored, else None."""
    key_location, cert_location = root_secret_keys(mesh, backend)
    key_secret, cert_secret = await store.get(key_location), await store.get(cert_location)
    if key_secret is None or cert_secret is None:
        return None
    key = _private_key(secret_data(key_secret))
    cert_pem = secret_data(cert_secret)
    return RootCa(mesh, key, x509.load_pem_x509_certificate(cert_pem))


def _private_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


async def _create_or_adopt(store: Store, location: ResourceKey, make: Callable[[], bytes]) -> bytes:
    existing = await store.get(location)
    if existing is not None:
        return secret_data(existing)
    data = make()
    secret = Resource(
        type=location.type,
        mesh=location.mesh,
        name=location.name,
        spec={"data": base64.b64encode(data).decode()},
    )
    try:
        await store.put(secret, expected_version=0)
    except Conflict:
        return await _create_or_adopt(store, location, make)
    return data


def new_key_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def new_root_pem(
    key: ec.EllipticCurvePrivateKey, common_name: str, sans: Sequence[x509.GeneralName]
) -> bytes:
    """A self-signed root (ten years) that signs leaves directly."""
    now = datetime.now(UTC)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "meshfabric"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + ROOT_LIFETIME)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = (
        builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)
