"""From the MeshTrafficPermissions that select an inbound to who may call it.

Each `from` entry names the whole mesh or one service; `rules` entries apply to every
caller. A service's own entry wins over the mesh-wide one; among entries of the same kind,
the one from the more specific (then later named) policy wins. Without any entry nobody may
call: mTLS meshes deny by default. AllowWithShadowDeny allows (the shadow rule only logs in
Kuma).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from meshfabric.policies.core import by_specificity, peer_service, selects_inbound, target_ref
from meshfabric.policies.meshtrafficpermission.api import TYPE, Spec
from meshfabric.resources import Parsed
from meshfabric.resources.common import TargetRef
from meshfabric.xds.model.proxy import Inbound, Proxy

log = logging.getLogger(__name__)

POLICY_TYPE = TYPE.name
_ALLOWING = frozenset({"Allow", "AllowWithShadowDeny"})


@dataclass(frozen=True)
class Permissions:
    mesh_allowed: bool = False
    services: dict[str, bool] = field(default_factory=dict)  # service -> allowed
    policies: tuple[str, ...] = ()  # the policies that contributed

    @property
    def allowed_services(self) -> list[str]:
        return sorted(s for s, allowed in self.services.items() if allowed)

    @property
    def denied_services(self) -> list[str]:
        return sorted(s for s, allowed in self.services.items() if not allowed)


def permissions_for(
    proxy: Proxy, inbound: Inbound, policies: Sequence[Parsed[Spec]]
) -> Permissions:
    selecting = [
        p for p in by_specificity(policies) if selects_inbound(target_ref(p.fields), proxy, inbound)
    ]
    mesh_allowed = False
    services: dict[str, bool] = {}
    for policy in selecting:
        # `rules` entries are for every caller: the same as a `from` entry for the mesh; they
        # carry allow/deny lists rather than an action, so they allow nobody here.
        entries: list[tuple[TargetRef | None, bool]] = [
            (item.targetRef, item.default.action in _ALLOWING) for item in policy.fields.from_ or []
        ]
        entries += [(None, False) for _ in policy.fields.rules or []]
        for ref, allowed in entries:
            try:
                service = peer_service(ref)
            except ValueError as problem:
                log.warning("ignoring part of %s: %s", policy.key, problem)
                continue
            if service is None:
                mesh_allowed = allowed
            else:
                services[service] = allowed
    return Permissions(mesh_allowed, services, tuple(p.name for p in selecting))
