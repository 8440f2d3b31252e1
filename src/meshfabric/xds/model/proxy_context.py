"""Everything a generator or policy plugin may read while building one proxy's config."""

from __future__ import annotations

from dataclasses import dataclass, field

from meshfabric.ca.identities import Identity
from meshfabric.dataplane_api.node import NO_FEATURES, Features
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.proxy import Outbound, Proxy


@dataclass
class ProxyContext:
    mesh: MeshContext
    proxy: Proxy
    identity: Identity | None  # None when the mesh has no mTLS
    # The outbounds being generated: all of the proxy's, or one when shared with others.
    outbounds: tuple[Outbound, ...] = ()
    features: Features = NO_FEATURES
    # Policy type -> names of the policies that shaped this proxy's config (for inspection).
    matched: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, mesh: MeshContext, proxy: Proxy, identity: Identity | None, features: Features
    ) -> ProxyContext:
        return cls(mesh, proxy, identity, mesh.outbounds(proxy, features.vips), features)

    @property
    def mtls_enabled(self) -> bool:
        return self.identity is not None

    def record_match(self, policy_type: str, names: list[str]) -> None:
        if names:
            found = self.matched.setdefault(policy_type, [])
            found += [name for name in names if name not in found]
