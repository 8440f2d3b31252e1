"""A reconciler whose passes a test can wait for, instead of guessing how long one takes."""

from __future__ import annotations

import asyncio

from meshfabric.ca.identities import IdentityProvider
from meshfabric.store.events import ChangeEvent
from meshfabric.store.protocol import Store
from meshfabric.xds.cache.snapshot import SnapshotCache
from meshfabric.xds.reconcile import Reconciler

# Only a hang guard: a pass takes milliseconds, this bounds a reconciler that died.
GIVE_UP_SECONDS = 30.0


class ObservedReconciler(Reconciler):
    """Counts the store's change events and those its passes have applied.

    `busy` alone cannot tell a test that a write is in the snapshots: it is false while a pass
    runs (the pass has taken the work) and while an event still waits in the subscription queue.
    """

    def __init__(self, store: Store, cache: SnapshotCache, identities: IdentityProvider) -> None:
        super().__init__(store, cache, identities, debounce_seconds=0.005)
        self._change_events = store.events
        self._published: asyncio.Queue[ChangeEvent] | None = None
        self._applied = 0
        self._reconciling = False
        self._pass_ended = asyncio.Condition()

    async def run(self) -> None:
        # Subscribed in the same step as the reconciler's own subscription: both see every event.
        async with self._change_events.subscribe() as published:
            self._published = published
            await super().run()

    async def reconcile_pending(self) -> None:
        taken = len(self._events)
        self._reconciling = True
        try:
            await super().reconcile_pending()
        finally:
            self._reconciling = False
            self._applied += taken
            async with self._pass_ended:
                self._pass_ended.notify_all()

    def _is_settled(self) -> bool:
        published = self._published.qsize() if self._published is not None else 0
        return not (self._reconciling or self.busy) and self._applied >= published

    async def settled(self) -> None:
        """Wait until every change written and every proxy connected so far is in the cache."""
        async with asyncio.timeout(GIVE_UP_SECONDS), self._pass_ended:
            await self._pass_ended.wait_for(self._is_settled)
