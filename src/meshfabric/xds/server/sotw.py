"""State-of-the-world ADS for one stream: every response holds the full set of its type.

Listeners and clusters are sent whole; endpoints, routes and secrets only by the names Envoy
asked for. A request whose nonce is not the latest one sent for its type answers a
superseded response and is ignored. A rejected version is never resent: only a new version
(or a change in the names asked for) produces the next response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from envoy.service.discovery.v3.discovery_pb2 import DiscoveryRequest, DiscoveryResponse

from meshfabric.xds.cache.snapshot import Snapshot
from meshfabric.xds.envoy.types import CLUSTER, ENDPOINT, PUSH_ORDER, WILDCARD_TYPES
from meshfabric.xds.model.proxy import ProxyId
from meshfabric.xds.server.stream import Nonces, StreamHooks


@dataclass(slots=True)
class _TypeState:
    names: frozenset[str] | None  # None: every resource of the type
    nonce: str = ""
    sent_version: str = ""
    rejected_version: str = ""


class SotwSession:
    __slots__ = ("_current", "_hooks", "_nonces", "_types", "proxy")

    def __init__(
        self, proxy: ProxyId, hooks: StreamHooks, current: Callable[[ProxyId], Snapshot | None]
    ) -> None:
        # `current`: a proxy's snapshot, one callable for every stream (no closure per proxy).
        self.proxy = proxy
        self._hooks = hooks
        self._current = current
        self._types: dict[str, _TypeState] = {}
        self._nonces = Nonces()

    def on_request(self, request: DiscoveryRequest) -> list[DiscoveryResponse]:
        type_url = request.type_url
        names = _requested_names(request)
        state = self._types.get(type_url)
        if state is None:
            state = self._types[type_url] = _TypeState(names, sent_version=request.version_info)
        elif request.response_nonce != state.nonce:
            return []  # an answer to a response that a newer one has replaced
        else:
            self._record_answer(type_url, state, request)
        names_changed = names != state.names
        state.names = names
        snapshot = self._current(self.proxy)
        if snapshot is None:
            return []
        version = snapshot.version(type_url, names)
        if names_changed or version not in (state.sent_version, state.rejected_version):
            responses = self._respond(type_url, state, snapshot)
            endpoints = self._types.get(ENDPOINT)
            if type_url == CLUSTER and responses and endpoints is not None:
                responses += self._respond(ENDPOINT, endpoints, snapshot)
            return responses
        return []

    def on_snapshot(self, snapshot: Snapshot) -> list[DiscoveryResponse]:
        responses = []
        for type_url in PUSH_ORDER:
            state = self._types.get(type_url)
            if state is None:
                continue  # Envoy has not asked for this type yet
            version = snapshot.version(type_url, state.names)
            if version not in (state.sent_version, state.rejected_version):
                responses += self._respond(type_url, state, snapshot)
        return responses

    def _record_answer(self, type_url: str, state: _TypeState, request: DiscoveryRequest) -> None:
        if request.HasField("error_detail"):
            state.rejected_version = state.sent_version
            self._hooks.nacked(
                self.proxy, type_url, state.sent_version, request.error_detail.message
            )
        elif request.version_info == state.sent_version:
            self._hooks.acked(self.proxy, type_url, state.sent_version)

    def _respond(
        self, type_url: str, state: _TypeState, snapshot: Snapshot
    ) -> list[DiscoveryResponse]:
        items = snapshot.of_type(type_url)
        names = items.keys() if state.names is None else state.names & items.keys()
        if not names and state.names is not None:
            return []  # nothing Envoy asked for exists yet; it keeps waiting
        state.nonce = self._nonces.next()
        state.sent_version = snapshot.version(type_url, state.names)
        endpoints = self._types.get(ENDPOINT)
        if type_url == CLUSTER and endpoints is not None:
            # Updated clusters warm again and wait for their endpoints, even unchanged ones.
            endpoints.sent_version = ""
        response = DiscoveryResponse(
            version_info=state.sent_version, type_url=type_url, nonce=state.nonce
        )
        add = response.resources.add
        for name in sorted(names):
            add(type_url=items[name].type_url, value=items[name].value)
        return [response]


def _requested_names(request: DiscoveryRequest) -> frozenset[str] | None:
    names = frozenset(request.resource_names)
    if request.type_url in WILDCARD_TYPES and (not names or "*" in names):
        return None
    return names
