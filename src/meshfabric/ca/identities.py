"""Workload certificates per proxy: issued on first need, reissued before they expire.

A certificate is reissued when 80% of its lifetime has passed (Kuma rotates at the same
point), when the proxy's services change, or when the mesh's root changes. Callers learn
the reissue time from `Identity.rotate_at` and regenerate the proxy's config then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from meshfabric.ca.builtin import RootCa, WorkloadCertificate, ensure_root, load_root
from meshfabric.store.protocol import Store

ROTATE_AFTER_FRACTION = 0.8


@dataclass(frozen=True)
class Identity:
    mesh: str
    services: frozenset[str]
    certificate: WorkloadCertificate
    ca_pem: bytes
    rotate_at: datetime


# Told (mesh, proxy name, identity) each time a certificate is issued or reissued.
IssueListener = Callable[[str, str, Identity], None]


class RootNotSynced(LookupError):
    """A federated zone issues nothing before its mesh's CA has arrived from global: a root of
    its own would be one that no other zone trusts, and global's could then never replace it."""

    def __init__(self, mesh: str, backend: str) -> None:
        super().__init__(f'the CA "{backend}" of mesh "{mesh}" has not arrived from global yet')


class IdentityProvider:
    """Parameters:
    store: where the mesh CAs' secrets are.
    creates_roots: make a mesh's root on first use (standalone and global control planes);
        a federated zone only uses the one global sends.
    """

    def __init__(self, store: Store, creates_roots: bool = True) -> None:
        self._store = store
        self._creates_roots = creates_roots
        self._roots: dict[tuple[str, str], RootCa] = {}
        self._issued: dict[tuple[str, str], Identity] = {}  # by (mesh, proxy name)
        self.issue_listeners: list[IssueListener] = []

    async def identity(
        self,
        mesh: str,
        proxy: str,
        backend: str,
        services: frozenset[str],
        lifetime_seconds: float,
    ) -> Identity:
        """The workload certificate of the proxy `proxy` of `mesh`, issued by that mesh's CA."""
        root = await self.root(mesh, backend)
        current = self._issued.get((mesh, proxy))
        if (
            current is not None
            and current.services == services
            and current.ca_pem == root.cert_pem
            and datetime.now(UTC) < current.rotate_at
        ):
            return current
        lifetime = timedelta(seconds=lifetime_seconds)
        certificate = root.issue(sorted(services), lifetime)
        identity = Identity(
            mesh=mesh,
            services=services,
            certificate=certificate,
            ca_pem=root.cert_pem,
            rotate_at=certificate.issued_at + lifetime * ROTATE_AFTER_FRACTION,
        )
        self._issued[(mesh, proxy)] = identity
        for listener in self.issue_listeners:
            listener(mesh, proxy, identity)
        return identity

    async def root(self, mesh: str, backend: str) -> RootCa:
        root = self._roots.get((mesh, backend))
        if root is None:
            root = await (ensure_root if self._creates_roots else load_root)(
                self._store, mesh, backend
            )
            if root is None:
                raise RootNotSynced(mesh, backend)
            self._roots[(mesh, backend)] = root
        return root

    def forget_proxy(self, mesh: str, proxy: str) -> None:
        self._issued.pop((mesh, proxy), None)

    def forget_mesh(self, mesh: str) -> None:
        """Drop the cached roots of a mesh (its CA secrets changed)."""
        for key in [key for key in self._roots if key[0] == mesh]:
            del self._roots[key]
