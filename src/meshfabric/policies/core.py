"""What every policy shares: targetRef matching and the plugin contract.

A policy's top-level targetRef selects proxies (or single inbounds of them); its `from`
and `to` entries name the peers each configuration is for. Like Kuma, a more specific
targetRef wins over a less specific one, and among equals the policy whose name sorts later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from meshfabric.resources import Resource
from meshfabric.resources.common import SERVICE_TAG
from meshfabric.xds.generators.context import ProxyContext
from meshfabric.xds.proxy import Inbound, Proxy
from meshfabric.xds.resource_set import ResourceSet

# Kuma's ordering of targetRef kinds, least specific first.
SPECIFICITY = {
    "Mesh": 0,
    "MeshSubset": 1,
    "MeshService": 2,
    "MeshServiceSubset": 3,
    "Dataplane": 4,
}


class PolicyPlugin(Protocol):
    """Edits the resources of one proxy according to the policies of one type."""

    policy_type: str
    order: int

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None: ...


def target_ref(policy: Resource) -> Mapping[str, Any]:
    """The policy's top-level targetRef; a missing one means the whole mesh."""
    return policy.spec.get("targetRef") or {"kind": "Mesh"}


def specificity(ref: Mapping[str, Any]) -> int:
    return SPECIFICITY.get(str(ref.get("kind")), 0)


def selects_inbound(ref: Mapping[str, Any], proxy: Proxy, inbound: Inbound) -> bool:
    """Whether a top-level targetRef selects this inbound of the proxy."""
    kind = ref.get("kind", "Mesh")
    tags = ref.get("tags") or {}
    if kind == "Mesh":
        return True
    if kind == "MeshSubset":
        return _has_tags(inbound.tags, tags)
    if kind in ("MeshService", "MeshServiceSubset"):
        return inbound.service == ref.get("name") and _has_tags(inbound.tags, tags)
    if kind == "Dataplane":
        return _selects_dataplane(ref, proxy)
    return False


def selects(ref: Mapping[str, Any], proxy: Proxy) -> bool:
    """Whether a top-level targetRef selects the proxy at all (through any inbound)."""
    kind = ref.get("kind", "Mesh")
    if kind == "Mesh":
        return True
    if kind == "Dataplane":
        return _selects_dataplane(ref, proxy)
    if kind == "MeshSubset" and not proxy.inbounds:
        return _has_tags({}, ref.get("tags") or {})
    return any(selects_inbound(ref, proxy, inbound) for inbound in proxy.inbounds)


def by_specificity(policies: Sequence[Resource]) -> list[Resource]:
    """Least specific first, so that applying them in order lets the most specific win."""
    return sorted(policies, key=lambda p: (specificity(target_ref(p)), p.name))


def peer_service(ref: Mapping[str, Any]) -> str | None:
    """The service a `from`/`to` targetRef names; None for the whole mesh.

    Raises ValueError for subsets this control plane cannot tell apart by identity.
    """
    kind = ref.get("kind", "Mesh")
    if kind == "Mesh":
        return None
    if kind in ("MeshService", "MeshServiceSubset") and ref.get("name"):
        return str(ref["name"])
    tags = ref.get("tags") or {}
    if kind == "MeshSubset" and set(tags) == {SERVICE_TAG}:
        return str(tags[SERVICE_TAG])
    raise ValueError(f"targetRef {dict(ref)} cannot be matched against a peer's identity")


def _selects_dataplane(ref: Mapping[str, Any], proxy: Proxy) -> bool:
    if ref.get("name"):
        return bool(ref["name"] == proxy.name)
    return _has_tags(proxy.labels, ref.get("labels") or {})


def _has_tags(actual: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(actual.get(key) == value for key, value in wanted.items())
