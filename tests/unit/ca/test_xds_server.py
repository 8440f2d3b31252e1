"""The xDS port's generated certificate: made once, reused, reissued only for new names."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from meshfabric.ca.xds_server import XdsCertificateFiles, ensure_server_certificate


def _sans(cert_pem: bytes) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_pem)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in sans}


def test_the_certificate_names_every_address_and_is_signed_by_the_kept_ca(tmp_path: Path) -> None:
    files = XdsCertificateFiles.in_directory(tmp_path)
    cert_pem, _ = ensure_server_certificate(files, ["127.0.0.1", "localhost", "cp.example"])
    cert = x509.load_pem_x509_certificate(cert_pem)
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(files.ca_cert.read_bytes()))
    assert _sans(cert_pem) == {"127.0.0.1", "localhost", "cp.example"}
    assert files.key.stat().st_mode & 0o777 == 0o600
    assert files.ca_key.stat().st_mode & 0o777 == 0o600


def test_a_restart_reuses_the_certificate(tmp_path: Path) -> None:
    files = XdsCertificateFiles.in_directory(tmp_path)
    first = ensure_server_certificate(files, ["127.0.0.1", "localhost"])
    assert ensure_server_certificate(files, ["127.0.0.1", "localhost"]) == first


def test_new_names_reissue_the_certificate_from_the_same_ca(tmp_path: Path) -> None:
    files = XdsCertificateFiles.in_directory(tmp_path)
    first, _ = ensure_server_certificate(files, ["127.0.0.1"])
    ca = files.ca_cert.read_bytes()
    second, _ = ensure_server_certificate(files, ["127.0.0.1", "cp.example"])
    assert second != first
    assert files.ca_cert.read_bytes() == ca
    assert _sans(second) == {"127.0.0.1", "cp.example"}
