"""The secrets the control plane keeps for itself: which are never served, and their checks.

Token signing keys and mesh CA keys are made by the control plane and used only by it, so
the API never returns their data, not even to an admin (a reader of a signing key could
forge any token). Revocation lists are written by admins and readable by them.

A write of one of these secrets is checked for what the control plane will do with it, so a
typo cannot leave every request failing: a signing key must be an RSA private key, a
revocation list UTF-8 text, a CA key an EC private key, a CA certificate a certificate. A
published public key (the zone tokens') is derived from its signing key and not written at
all: replacing the signing key replaces it.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from meshfabric.resources import Resource, ResourceKey, Violation
from meshfabric.resources.types.secret import secret_data
from meshfabric.tokens import DATAPLANE, USER, ZONE, TokenKind

_KINDS: tuple[TokenKind, ...] = (USER, ZONE, DATAPLANE)
_MIN_RSA_BITS = 2048
_CA_KEY = ".ca-builtin-key-"
_CA_CERT = ".ca-builtin-cert-"


def is_withheld(key: ResourceKey) -> bool:
    """A secret whose data no one is shown: a token signing key or a mesh CA's private key."""
    return any(kind.signing_key_key(key.mesh) == key for kind in _KINDS) or _is_ca(key, _CA_KEY)


def violations(resource: Resource) -> list[Violation]:
    """What makes a control-plane secret unusable; [] for one that is fine or not one of them."""
    check = _check_for(resource.key)
    if check is None:
        return []
    data = secret_data(resource)
    problem = check(data)
    return [Violation("data", problem)] if problem else []


def _check_for(key: ResourceKey) -> Callable[[bytes], str | None] | None:
    if any(kind.published and kind.public_key_key(key.mesh) == key for kind in _KINDS):
        return _derived_problem
    if any(kind.signing_key_key(key.mesh) == key for kind in _KINDS):
        return _signing_key_problem
    if any(kind.revocations_key(key.mesh) == key for kind in _KINDS):
        return _revocations_problem
    if _is_ca(key, _CA_KEY):
        return _ca_key_problem
    if _is_ca(key, _CA_CERT):
        return _ca_cert_problem
    return None


def _is_ca(key: ResourceKey, infix: str) -> bool:
    return key.type == "Secret" and key.name.startswith(key.mesh + infix)


def _private_key(data: bytes) -> object | None:
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        return None


def _signing_key_problem(data: bytes) -> str | None:
    key = _private_key(data)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < _MIN_RSA_BITS:
        return f"must be a PEM RSA private key of at least {_MIN_RSA_BITS} bits, unencrypted"
    return None


def _derived_problem(_: bytes) -> str | None:
    return "is written by the control plane from the signing key: replace that one instead"


def _revocations_problem(data: bytes) -> str | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "must be UTF-8 text: token ids (jti) separated by commas"
    return None


def _ca_key_problem(data: bytes) -> str | None:
    if not isinstance(_private_key(data), ec.EllipticCurvePrivateKey):
        return "must be a PEM EC private key, unencrypted"
    return None


def _ca_cert_problem(data: bytes) -> str | None:
    try:
        x509.load_pem_x509_certificate(data)
    except ValueError:
        return "must be a PEM certificate"
    return None
