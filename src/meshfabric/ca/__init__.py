"""The builtin certificate authority of each mesh: root kept as mesh Secrets, leaf issuance."""

from meshfabric.ca.builtin import RootCa, WorkloadCertificate, ensure_root, spiffe_id

__all__ = ["RootCa", "WorkloadCertificate", "ensure_root", "spiffe_id"]
