"""The xDS port's own certificate when the operator gives none: a local CA kept in the data
directory, and a server certificate it signs for the names proxies use to reach the port.

Proxies trust `xds-ca.crt` (`meshfabric-dp run --ca-cert-file`). The CA is made once and kept,
so a restart, or a server certificate reissued for new names, does not break that trust.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from meshfabric.ca.builtin import issue_leaf, new_key_pem, new_root_pem
from meshfabric.files import write_private

log = logging.getLogger(__name__)

SERVER_LIFETIME = timedelta(days=365)
# Reissued at start once this close to expiry; a control plane restarted yearly never lapses.
RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class XdsCertificateFiles:
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path
    # What the port serves, and how its clients come to trust the CA: for the logs.
    purpose: str = "xDS"
    trusted_with: str = "meshfabric-dp run --ca-cert-file"

    @classmethod
    def in_directory(cls, directory: Path) -> XdsCertificateFiles:
        return cls.named(directory, "xds", cls.purpose, cls.trusted_with)

    @classmethod
    def named(
        cls, directory: Path, prefix: str, purpose: str, trusted_with: str
    ) -> XdsCertificateFiles:
        """<prefix>-ca.crt/.key and <prefix>-server.crt/.key in the directory."""
        return cls(
            ca_cert=directory / f"{prefix}-ca.crt",
            ca_key=directory / f"{prefix}-ca.key",
            cert=directory / f"{prefix}-server.crt",
            key=directory / f"{prefix}-server.key",
            purpose=purpose,
            trusted_with=trusted_with,
        )


def ensure_server_certificate(files: XdsCertificateFiles, names: list[str]) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for the xDS port, valid for every name; reused when it is."""
    ca_key, ca_cert = _ensure_ca(files)
    wanted = _general_names(names)
    if files.cert.exists() and files.key.exists():
        cert_pem = files.cert.read_bytes()
        if _still_fits(x509.load_pem_x509_certificate(cert_pem), ca_cert, wanted):
            return cert_pem, files.key.read_bytes()
    issued = issue_leaf(ca_key, ca_cert, wanted, SERVER_LIFETIME)
    write_private(files.key, issued.key_pem)
    files.cert.write_bytes(issued.cert_pem)
    log.info(
        "issued the %s server certificate %s for %s", files.purpose, files.cert, ", ".join(names)
    )
    return issued.cert_pem, issued.key_pem


def _ensure_ca(files: XdsCertificateFiles) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    if not (files.ca_key.exists() and files.ca_cert.exists()):
        key_pem = new_key_pem()
        key = _load_key(key_pem)
        write_private(files.ca_key, key_pem)
        files.ca_cert.write_bytes(new_root_pem(key, f"meshfabric {files.purpose} CA", []))
        log.info(
            "created the %s CA %s: clients trust it with %s",
            files.purpose,
            files.ca_cert,
            files.trusted_with,
        )
    return _load_key(files.ca_key.read_bytes()), x509.load_pem_x509_certificate(
        files.ca_cert.read_bytes()
    )


def _still_fits(
    cert: x509.Certificate, ca: x509.Certificate, wanted: list[x509.GeneralName]
) -> bool:
    """Signed by this CA, far enough from expiry, and naming exactly what is wanted."""
    if cert.issuer != ca.subject or cert.not_valid_after_utc - datetime.now(UTC) < RENEW_BEFORE:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(sans) == set(wanted)


def _general_names(names: list[str]) -> list[x509.GeneralName]:
    found: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):  # in order, without repeats
        try:
            found.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            found.append(x509.DNSName(name))
    return found


def _load_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an EC key")
    return key
