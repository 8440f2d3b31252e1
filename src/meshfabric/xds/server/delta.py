"""Incremental (delta) ADS for one stream: only changed resources travel, and removals.

What Envoy holds is tracked per resource name and version, starting from the versions it
reports when it (re)connects, so a restarted control plane resends nothing Envoy has. A
rejected response rolls that record back and its (name, version) pairs are never resent.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from envoy.service.discovery.v3.discovery_pb2 import (
    DeltaDiscoveryRequest,
    DeltaDiscoveryResponse,
)

from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.types import CLUSTER, ENDPOINT, PUSH_ORDER, WILDCARD_TYPES
from meshfabric.xds.model.proxy import ProxyId
from meshfabric.xds.server.stream import Nonces, StreamHooks

_WILDCARD = "*"


@dataclass(slots=True)
class _Sent:
    type_url: str
    version: str
    previous: dict[str, str | None]  # what Envoy held before, to roll back a rejection
    offered: dict[str, str]  # name -> version sent (removals are not listed)


_NOTHING: frozenset[Any] = frozenset()
# What Envoy holds of a type before anything is sent: one empty map, copied when first changed.
_NO_VERSIONS: Mapping[str, str] = MappingProxyType({})


class _Names(frozenset[str]):
    """A set of subscribed names, shared by every stream subscribed to the same ones."""


# Proxies alike in their outbounds subscribe to the same endpoints and routes: one set each.
_SUBSCRIPTIONS: weakref.WeakValueDictionary[tuple[str, ...], _Names] = weakref.WeakValueDictionary()


def _shared(names: AbstractSet[str]) -> AbstractSet[str]:
    if not names:
        return _NOTHING
    key = tuple(sorted(names))
    found = _SUBSCRIPTIONS.get(key)
    if found is None:
        found = _SUBSCRIPTIONS[key] = _Names(sys.intern(name) for name in key)
    return found


@dataclass(slots=True)
class _TypeState:
    """What one resource type's subscription stands at. Held per connected proxy and type,
    so what most proxies never need (refusals) is created only when first needed, and the
    names subscribed to are a set shared with the proxies subscribed to the same names."""

    wildcard: bool
    held: Mapping[str, str]  # what Envoy has: name -> version; changed through `editable`
    subscribed: AbstractSet[str] = _NOTHING  # never edited in place: replaced when it changes
    rejected: AbstractSet[tuple[str, str]] = _NOTHING  # a set of its own once Envoy refuses one
    held_shared: bool = False  # `held` is the snapshot's map, shared with other streams
    answered: bool = False  # whether anything was sent for this subscription yet

    def editable(self) -> dict[str, str]:
        """`held`, to change: a copy of its own if it is the snapshot's shared map."""
        held = self.held
        if self.held_shared or not isinstance(held, dict):
            held = self.held = dict(held)
            self.held_shared = False
        return held

    def reject(self, name: str, version: str) -> None:
        if not isinstance(self.rejected, set):
            self.rejected = set(self.rejected)
        self.rejected.add((name, version))


class DeltaSession:
    __slots__ = ("_current", "_hooks", "_in_flight", "_nonces", "_types", "proxy")

    def __init__(
        self, proxy: ProxyId, hooks: StreamHooks, current: Callable[[ProxyId], Snapshot | None]
    ) -> None:
        # `current`: a proxy's snapshot, one callable for every stream (no closure per proxy).
        self.proxy = proxy
        self._hooks = hooks
        self._current = current
        self._types: dict[str, _TypeState] = {}
        self._in_flight: dict[str, _Sent] = {}  # by nonce, which is unique across types
        self._nonces = Nonces()

    def on_request(self, request: DeltaDiscoveryRequest) -> list[DeltaDiscoveryResponse]:
        type_url = sys.intern(request.type_url)
        state = self._types.get(type_url)
        if state is None:
            state = self._types[type_url] = self._first_request(request)
        self._update_subscriptions(state, request)
        if request.response_nonce:
            self._record_answer(type_url, state, request)
        snapshot = self._current(self.proxy)
        if snapshot is None:
            return []
        responses = self._push(type_url, state, snapshot)
        endpoints = self._types.get(ENDPOINT)
        if type_url == CLUSTER and responses and endpoints is not None:
            responses += self._push(ENDPOINT, endpoints, snapshot)
        return responses

    def on_snapshot(self, snapshot: Snapshot) -> list[DeltaDiscoveryResponse]:
        responses = []
        for type_url in PUSH_ORDER:
            state = self._types.get(type_url)
            if state is not None:
                responses += self._push(type_url, state, snapshot)
        return responses

    def _forget_endpoints_of(self, clusters: list[XdsResource]) -> None:
        """An updated cluster warms again and waits for its endpoints, even unchanged ones
        (for the initial fetch timeout, 15 s, if they never come): send them again."""
        endpoints = self._types.get(ENDPOINT)
        if endpoints is not None:
            for cluster in clusters:
                endpoints.editable().pop(cluster.name, None)

    @staticmethod
    def _first_request(request: DeltaDiscoveryRequest) -> _TypeState:
        # An empty first subscription to a wildcard type means "everything" (legacy wildcard).
        names = set(request.resource_names_subscribe)
        wildcard = request.type_url in WILDCARD_TYPES and (not names or _WILDCARD in names)
        versions = request.initial_resource_versions
        held = {sys.intern(name): v for name, v in versions.items()} if versions else _NO_VERSIONS
        return _TypeState(wildcard=wildcard, held=held)

    @staticmethod
    def _update_subscriptions(state: _TypeState, request: DeltaDiscoveryRequest) -> None:
        added = set(request.resource_names_subscribe)
        removed = set(request.resource_names_unsubscribe)
        if _WILDCARD in added:
            state.wildcard = True
        if _WILDCARD in removed:
            state.wildcard = False
        added.discard(_WILDCARD)
        removed.discard(_WILDCARD)
        if removed & state.held.keys():
            held = state.editable()
            for name in removed:
                held.pop(name, None)
        if added - state.subscribed or removed & state.subscribed:
            state.subscribed = _shared((state.subscribed | added) - removed)

    def _record_answer(
        self, type_url: str, state: _TypeState, request: DeltaDiscoveryRequest
    ) -> None:
        sent = self._in_flight.get(request.response_nonce)
        if sent is None or sent.type_url != type_url:
            return
        del self._in_flight[request.response_nonce]
        if not request.HasField("error_detail"):
            self._hooks.acked(self.proxy, type_url, sent.version)
            return
        for name, version in sent.offered.items():
            state.reject(name, version)
        held = state.editable()
        for name, previous in sent.previous.items():
            if previous is None:
                held.pop(name, None)
            else:
                held[name] = previous
        self._hooks.nacked(self.proxy, type_url, sent.version, request.error_detail.message)

    @staticmethod
    def _record_sent(
        state: _TypeState,
        shared: Mapping[str, str] | None,
        changed: list[XdsResource],
        removed: list[str],
    ) -> None:
        """Envoy now holds what was sent: exactly the snapshot's resources of the type, most
        often, and then the stream keeps the map every such stream shares."""
        held = state.editable()
        for resource in changed:
            held[resource.name] = resource.version
        for name in removed:
            del held[name]
        if shared is not None and not state.rejected and held == shared:
            state.held, state.held_shared = shared, True

    def _push(
        self, type_url: str, state: _TypeState, snapshot: Snapshot
    ) -> list[DeltaDiscoveryResponse]:
        items = snapshot.of_type(type_url)
        wanted = items.keys() if state.wildcard else state.subscribed & items.keys()
        changed = [
            items[name]
            for name in sorted(wanted)
            if state.held.get(name) != items[name].version
            and (name, items[name].version) not in state.rejected
        ]
        removed = sorted(
            name
            for name in state.held
            if name not in items and (state.wildcard or name in state.subscribed)
        )
        if not changed and not removed and (state.answered or not state.wildcard):
            # Envoy counts a wildcard type as fetched only once answered, even with nothing:
            # unanswered, it waits out its initial fetch timeout (15 s) before it is ready.
            return []
        state.answered = True
        nonce = self._nonces.next()
        version = snapshot.version(type_url)
        touched = [r.name for r in changed] + removed
        self._in_flight[nonce] = _Sent(
            type_url=type_url,
            version=version,
            previous={name: state.held.get(name) for name in touched},
            offered={r.name: r.version for r in changed},
        )
        self._record_sent(state, snapshot.versions_by_name(type_url), changed, removed)
        if type_url == CLUSTER:
            self._forget_endpoints_of(changed)
        response = DeltaDiscoveryResponse(
            type_url=type_url, nonce=nonce, system_version_info=version, removed_resources=removed
        )
        add = response.resources.add
        for r in changed:  # built in place: an `Any` per resource first would cost a copy more
            add(name=r.name, version=r.version, resource={"type_url": r.type_url, "value": r.value})
        return [response]
