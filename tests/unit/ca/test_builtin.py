from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from meshfabric.ca import ensure_root
from meshfabric.ca.identities import IdentityProvider
from meshfabric.store.sqlite import SqliteStore


async def test_the_root_is_created_once_and_shared(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    try:
        first = await ensure_root(store, "default", "ca-1")
        second = await ensure_root(store, "default", "ca-1")
        other_mesh = await ensure_root(store, "other", "ca-1")
    finally:
        await store.close()
    assert first.cert_pem == second.cert_pem
    assert first.cert_pem != other_mesh.cert_pem


async def test_workload_certificates_carry_spiffe_ids_and_chain_to_the_root(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "store.db")
    try:
        root = await ensure_root(store, "default", "ca-1")
    finally:
        await store.close()
    issued = root.issue(["web", "admin"], timedelta(hours=1))
    cert = x509.load_pem_x509_certificate(issued.cert_pem)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://default/admin",
        "spiffe://default/web",
    ]
    public_key = root.cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    cert.verify_directly_issued_by(root.cert)


async def test_identities_are_reused_until_their_rotation_time(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    provider = IdentityProvider(store)
    try:
        first = await provider.identity("default", "web-1", "ca-1", frozenset({"web"}), 3600)
        again = await provider.identity("default", "web-1", "ca-1", frozenset({"web"}), 3600)
        short = await provider.identity("default", "db-1", "ca-1", frozenset({"db"}), 0)
        short_again = await provider.identity("default", "db-1", "ca-1", frozenset({"db"}), 0)
    finally:
        await store.close()
    assert again is first
    assert short_again.certificate.cert_pem != short.certificate.cert_pem
