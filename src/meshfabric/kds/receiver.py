"""The receiving half of a KDS delta stream: subscribe to every type, apply each response.

The subscription tells the sender which names this side holds from it, so the first answer
per type also removes what the sender no longer has. Each response is applied in one store
transaction, all of it or none; the answer is an ACK, or a NACK naming the resource and the
reason. A failure of the store itself ends the stream instead: the sync starts again whole.
"""

from __future__ import annotations

import logging

from envoy.config.core.v3.base_pb2 import Node
from envoy.service.discovery.v3.discovery_pb2 import (
    DeltaDiscoveryRequest,
    DeltaDiscoveryResponse,
)
from google.rpc.status_pb2 import Status

from meshfabric.kds.flows import Inbound
from meshfabric.kds.mux import PING_TYPE_URL
from meshfabric.kds.wire import TYPE_URL_PREFIX, Rejected, decode, type_url
from meshfabric.metrics import KDS_CHANGES_APPLIED, KDS_NACKS
from meshfabric.store.protocol import Store

log = logging.getLogger(__name__)

_INVALID_ARGUMENT = 3  # google.rpc.Code


class Receiver:
    """Applies what one peer sends, as `inbound` allows.

    Parameters:
        store: where received resources are written.
        inbound: how received resources are named, checked and owned.
        node_id: who this side is, told to the peer in every request.
        peer: who is on the other end, for logs.
    """

    def __init__(self, store: Store, inbound: Inbound, node_id: str, peer: str) -> None:
        self._store = store
        self._inbound = inbound
        self._node = Node(id=node_id)
        self._peer = peer
        self._types = {type_url(rtype): rtype for rtype in inbound.types}

    async def subscriptions(self) -> list[DeltaDiscoveryRequest]:
        """One request per type, in the registry's order (a Mesh before what lives in it)."""
        requests = []
        for url, rtype in self._types.items():
            held = await self._inbound.held(rtype)
            requests.append(
                DeltaDiscoveryRequest(
                    node=self._node,
                    type_url=url,
                    resource_names_subscribe=["*"],
                    initial_resource_versions=dict.fromkeys(held, ""),
                )
            )
        return requests

    async def on_response(self, response: DeltaDiscoveryResponse) -> DeltaDiscoveryRequest:
        answer = DeltaDiscoveryRequest(
            node=self._node, type_url=response.type_url, response_nonce=response.nonce
        )
        if response.type_url == PING_TYPE_URL:
            return answer
        try:
            await self._apply(response)
        except Rejected as rejected:
            log.warning(
                "refused a batch from %s: %s",
                self._peer,
                rejected,
                extra={"peer": self._peer, "nonce": response.nonce},
            )
            answer.error_detail.CopyFrom(Status(code=_INVALID_ARGUMENT, message=str(rejected)))
            type_name = response.type_url.removeprefix(TYPE_URL_PREFIX)
            KDS_NACKS.labels(self._inbound.zone, type_name, "sent").inc()
        return answer

    async def _apply(self, response: DeltaDiscoveryResponse) -> None:
        rtype = self._types.get(response.type_url)
        if rtype is None:
            raise Rejected(f"{response.type_url} is not a type this side receives")
        puts = [
            await self._inbound.accept(rtype, decode(rtype, entry)) for entry in response.resources
        ]
        deletes = [self._inbound.local_key(rtype, name) for name in response.removed_resources]
        changes = await self._store.write_batch(puts, deletes, self._inbound.guard)
        KDS_CHANGES_APPLIED.labels(self._inbound.zone, rtype.name).inc(len(changes))
        if changes:
            log.info(
                "applied %d changes of %s from %s",
                len(changes),
                rtype.name,
                self._peer,
                extra={"peer": self._peer, "type": rtype.name},
            )
