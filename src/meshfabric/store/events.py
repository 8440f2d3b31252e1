"""In-process fan-out of store changes to every subscriber (xDS, KDS, insights)."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass

from meshfabric.resources.model import ResourceKey
from meshfabric.watchers import Watchers


class ChangeKind(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


@dataclass(frozen=True)
class ChangeEvent:
    kind: ChangeKind
    key: ResourceKey
    version: int


KeyWatcher = Callable[[ChangeEvent], None]


class EventBus:
    """Each subscriber gets its own unbounded queue, so a slow one never blocks a write.

    Watchers of one resource are called at once instead, without a queue each: thousands
    of them (a revocation list per open stream) cost a lookup per event, not a queue each.
    """

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[ChangeEvent]] = set()
        self._watchers: Watchers[ResourceKey, KeyWatcher] = Watchers()

    def publish(self, event: ChangeEvent) -> None:
        for queue in self._queues:
            queue.put_nowait(event)
        for notify in self._watchers.of(event.key):
            notify(event)

    def watching(self, key: ResourceKey, notify: KeyWatcher) -> AbstractContextManager[None]:
        """Call `notify` (which must not block) with each change of `key` while the block runs."""
        return self._watchers.watching(key, notify)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[ChangeEvent]]:
        queue: asyncio.Queue[ChangeEvent] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
