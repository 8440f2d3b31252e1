"""What every policy shares: targetRef matching and the plugin contract.

A policy's top-level targetRef selects proxies (or single inbounds of them); its `from`
and `to` entries name the peers each configuration is for. Like Kuma, a more specific
targetRef wins over a less specific one, and among equals the policy whose name sorts later.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from meshfabric.resources import Parsed
from meshfabric.resources.common import (
    SERVICE_TAG,
    FromItem,
    MatchedRuleItem,
    RuleItem,
    SingleConfPolicySpec,
    Targeted,
    TargetRef,
    ToItem,
)
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.proxy import Inbound, Proxy
from meshfabric.xds.model.proxy_context import ProxyContext

# Kuma's ordering of targetRef kinds, least specific first.
SPECIFICITY = {
    "Mesh": 0,
    "MeshSubset": 1,
    "MeshService": 2,
    "MeshServiceSubset": 3,
    "Dataplane": 4,
    "MeshMultiZoneService": 2,  # in `to`: as specific as a MeshService
}
WHOLE_MESH = TargetRef(kind="Mesh")
UNKNOWN_SERVICE = "unknown"

Conf = TypeVar("Conf", bound=BaseModel)


class PolicyPlugin(Protocol):
    """Edits the resources of one proxy according to the policies of one type."""

    policy_type: str
    order: int

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None: ...


@runtime_checkable
class ProxySpecificPlugin(PolicyPlugin, Protocol):
    """A plugin whose edits of an outbound depend on the proxy beyond which policies select
    it: `sharing_key` says on what, so that only proxies alike in it share outbound config."""

    def sharing_key(self, ctx: ProxyContext) -> Hashable: ...


@runtime_checkable
class EndpointShapingPlugin(ProxySpecificPlugin, Protocol):
    """A plugin that rewrites the load assignments of the proxies its policies select.

    Their endpoints are not the ones every client of a destination shares, so an endpoint
    change regenerates those proxies.
    """

    rewrites_endpoints: bool


def shapes_endpoints(mesh: MeshContext, proxy: Proxy, plugins: Sequence[PolicyPlugin]) -> bool:
    """Whether a policy of an endpoint-shaping plugin selects the proxy."""
    return any(
        selects(target_ref(policy.fields), proxy)
        for plugin in endpoint_shaping(plugins)
        for policy in mesh.policies_of(plugin.policy_type)
    )


def endpoint_shaping(plugins: Sequence[PolicyPlugin]) -> tuple[EndpointShapingPlugin, ...]:
    """The plugins that shape endpoints. Asked for every proxy generated, and a runtime
    Protocol check costs tens of microseconds: answered once per set of plugins."""
    return _endpoint_shaping(tuple(plugins))


@functools.cache
def _endpoint_shaping(plugins: tuple[PolicyPlugin, ...]) -> tuple[EndpointShapingPlugin, ...]:
    return tuple(plugin for plugin in plugins if isinstance(plugin, EndpointShapingPlugin))


def proxy_specific(plugins: Sequence[PolicyPlugin]) -> tuple[ProxySpecificPlugin, ...]:
    """The plugins whose outbound edits depend on the proxy (answered once per set)."""
    return _proxy_specific(tuple(plugins))


@functools.cache
def _proxy_specific(plugins: tuple[PolicyPlugin, ...]) -> tuple[ProxySpecificPlugin, ...]:
    return tuple(plugin for plugin in plugins if isinstance(plugin, ProxySpecificPlugin))


class OutboundSpec(Targeted, Protocol[Conf]):
    @property
    def to(self) -> Sequence[ToItem[Conf]] | None: ...


class InboundSpec(Targeted, Protocol[Conf]):
    @property
    def from_(self) -> Sequence[FromItem[Conf]] | None: ...

    @property
    def rules(self) -> Sequence[RuleItem[Conf]] | None: ...


def target_ref(policy: Targeted) -> TargetRef:
    """The policy's top-level targetRef; a missing one means the whole mesh."""
    return policy.targetRef or WHOLE_MESH


def identifying_service(proxy: Proxy) -> str:
    """The service a proxy speaks for in its telemetry (Kuma's IdentifyingName): that of its
    first inbound, or `unknown`."""
    services = [inbound.service for inbound in proxy.inbounds if inbound.service]
    return services[0] if services else UNKNOWN_SERVICE


def specificity(ref: TargetRef) -> int:
    return SPECIFICITY.get(ref.kind, 0)


def selects_inbound(ref: TargetRef, proxy: Proxy, inbound: Inbound) -> bool:
    """Whether a top-level targetRef selects this inbound of the proxy."""
    kind = ref.kind
    tags = ref.tags or {}
    if kind == "Mesh":
        return True
    if kind == "MeshSubset":
        return _has_tags(inbound.tags, tags)
    if kind in ("MeshService", "MeshServiceSubset"):
        return inbound.service == ref.name and _has_tags(inbound.tags, tags)
    if kind == "Dataplane":
        return _selects_dataplane(ref, proxy)
    return False


def selects(ref: TargetRef, proxy: Proxy) -> bool:
    """Whether a top-level targetRef selects the proxy at all (through any inbound)."""
    kind = ref.kind
    if kind == "Mesh":
        return True
    if kind == "Dataplane":
        return _selects_dataplane(ref, proxy)
    if kind == "MeshSubset" and not proxy.inbounds:
        return _has_tags({}, ref.tags or {})
    return any(selects_inbound(ref, proxy, inbound) for inbound in proxy.inbounds)


Spec = TypeVar("Spec", bound=Targeted)


def by_specificity(policies: Sequence[Parsed[Spec]]) -> list[Parsed[Spec]]:
    """Least specific first, so that applying them in order lets the most specific win."""
    return sorted(policies, key=lambda p: (specificity(target_ref(p.fields)), p.name))


def peer_service(ref: TargetRef | None) -> str | None:
    """The service a `from`/`to` targetRef names; None for the whole mesh.

    Raises ValueError for subsets this control plane cannot tell apart by identity.
    """
    if ref is None or ref.kind == "Mesh":
        return None
    if ref.kind in ("MeshService", "MeshServiceSubset") and ref.name:
        return ref.name
    tags = ref.tags or {}
    if ref.kind == "MeshSubset" and set(tags) == {SERVICE_TAG}:
        return tags[SERVICE_TAG]
    shown = ref.model_dump(exclude_unset=True)
    raise ValueError(f"targetRef {shown} cannot be matched against a peer's identity")


@dataclass(frozen=True)
class Matched(Generic[Conf]):
    """The configuration several policy entries add up to (None when they set nothing), and
    the policies it came from."""

    conf: Conf | None
    policies: tuple[str, ...]


def to_conf(
    policies: Sequence[Parsed[OutboundSpec[Conf]]],
    proxy: Proxy,
    service: str,
    kind: str = "MeshService",
) -> Matched[Conf]:
    """The `to` configuration for the proxy's traffic to a service (or to another `kind` of
    destination: a MeshMultiZoneService).

    Entries for the whole mesh come first, the service's own after them, each group in the
    order of its policies' specificity; later entries override earlier ones field by field.
    """
    entries = [
        (specificity(item.targetRef), policy.name, item.default)
        for policy in by_specificity(policies)
        if selects(target_ref(policy.fields), proxy)
        for item in policy.fields.to or []
        if _names_service(item.targetRef, service, kind)
    ]
    entries.sort(key=lambda entry: entry[0])  # stable: keeps the policies' order within a kind
    return _merged(entries)


def from_conf(
    policies: Sequence[Parsed[InboundSpec[Conf]]], proxy: Proxy, inbound: Inbound
) -> Matched[Conf]:
    """The configuration for all traffic into an inbound: its `from` Mesh entries and its
    `rules` without matches, from the least to the most specific policy."""
    entries: list[tuple[int, str, Conf]] = []
    for policy in by_specificity(policies):
        if not selects_inbound(target_ref(policy.fields), proxy, inbound):
            continue
        entries += [
            (0, policy.name, item.default)
            for item in policy.fields.from_ or []
            if item.targetRef.kind == "Mesh"
        ]
        entries += [
            (0, policy.name, rule.default)
            for rule in policy.fields.rules or []
            if not (isinstance(rule, MatchedRuleItem) and rule.matches)
        ]
    return _merged(entries)


def proxy_conf(
    policies: Sequence[Parsed[SingleConfPolicySpec[Conf]]], proxy: Proxy
) -> Matched[Conf]:
    """The configuration of a proxy as a whole (MeshMetric, MeshTrace): the `default` of each
    policy that selects it, from the least to the most specific."""
    entries = [
        (0, policy.name, policy.fields.default)
        for policy in by_specificity(policies)
        if selects(target_ref(policy.fields), proxy)
    ]
    return _merged(entries)


def merged_conf(base: Conf, top: Conf) -> Conf:
    """Kuma's merge of policy confs: objects merge field by field, anything else replaces;
    what `top` leaves unset stays as `base` has it."""
    update: dict[str, Any] = {}
    for name in top.model_fields_set:
        value, current = getattr(top, name), getattr(base, name)
        if isinstance(value, BaseModel) and isinstance(current, BaseModel):
            value = merged_conf(current, value)
        elif isinstance(value, Mapping) and isinstance(current, Mapping):
            value = _merged_mapping(current, value)
        update[name] = value
    return base.model_copy(update=update)


def _merged_mapping(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged_mapping(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merged(entries: Sequence[tuple[int, str, Conf]]) -> Matched[Conf]:
    conf: Conf | None = None
    for _, _, default in entries:
        conf = default if conf is None else merged_conf(conf, default)
    policies = tuple(dict.fromkeys(name for _, name, _ in entries))
    return Matched(conf if conf is not None and conf.model_fields_set else None, policies)


def _names_service(ref: TargetRef, service: str, kind: str) -> bool:
    """Mesh, or the destination by name: a MeshService ref names any destination of that
    name, a MeshMultiZoneService ref only a MeshMultiZoneService."""
    return ref.kind == "Mesh" or (ref.kind in ("MeshService", kind) and ref.name == service)


def _selects_dataplane(ref: TargetRef, proxy: Proxy) -> bool:
    if ref.name:
        return ref.name == proxy.name
    return _has_tags(proxy.labels, ref.labels or {})


def _has_tags(actual: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(actual.get(key) == value for key, value in wanted.items())
