"""What every policy shares: targetRef matching and the plugin contract.

A policy's top-level targetRef selects proxies (or single inbounds of them); its `from`
and `to` entries name the peers each configuration is for. Like Kuma, a more specific
targetRef wins over a less specific one, and among equals the policy whose name sorts later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from meshfabric.resources import Resource
from meshfabric.resources.common import SERVICE_TAG
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy import Inbound, Proxy
from meshfabric.xds.model.proxy_context import ProxyContext

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


@dataclass(frozen=True)
class Matched:
    """The configuration several policy entries add up to, and the policies it came from."""

    conf: Mapping[str, Any]
    policies: tuple[str, ...]


def to_conf(policies: Sequence[Resource], proxy: Proxy, service: str) -> Matched:
    """The `to` configuration for the proxy's traffic to a service.

    Entries for the whole mesh come first, the service's own after them, each group in the
    order of its policies' specificity; later entries override earlier ones field by field.
    """
    entries = [
        (specificity(ref), policy.name, item.get("default") or {})
        for policy in by_specificity(policies)
        if selects(target_ref(policy), proxy)
        for item in policy.spec.get("to") or []
        if _names_service(ref := item.get("targetRef") or {}, service)
    ]
    entries.sort(key=lambda entry: entry[0])  # stable: keeps the policies' order within a kind
    return _merged(entries)


def from_conf(policies: Sequence[Resource], proxy: Proxy, inbound: Inbound) -> Matched:
    """The configuration for all traffic into an inbound: its `from` Mesh entries and its
    `rules` without matches, from the least to the most specific policy."""
    entries = [
        (0, policy.name, item.get("default") or {})
        for policy in by_specificity(policies)
        if selects_inbound(target_ref(policy), proxy, inbound)
        for item in [*(policy.spec.get("from") or []), *(policy.spec.get("rules") or [])]
        if (item.get("targetRef") or {"kind": "Mesh"}).get("kind") == "Mesh"
        and not item.get("matches")
    ]
    return _merged(entries)


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Kuma's merge of policy confs: objects merge field by field, anything else replaces."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merged(entries: Sequence[tuple[int, str, Mapping[str, Any]]]) -> Matched:
    conf: dict[str, Any] = {}
    for _, _, default in entries:
        conf = deep_merge(conf, default)
    return Matched(conf, tuple(dict.fromkeys(name for _, name, _ in entries)))


def _names_service(ref: Mapping[str, Any], service: str) -> bool:
    kind = ref.get("kind", "Mesh")
    return kind == "Mesh" or (kind == "MeshService" and ref.get("name") == service)


def _selects_dataplane(ref: Mapping[str, Any], proxy: Proxy) -> bool:
    if ref.get("name"):
        return bool(ref["name"] == proxy.name)
    return _has_tags(proxy.labels, ref.get("labels") or {})


def _has_tags(actual: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(actual.get(key) == value for key, value in wanted.items())
