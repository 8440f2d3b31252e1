"""In-process fan-out of store changes to every subscriber (xDS, KDS, insights)."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from meshfabric.resources.model import ResourceKey


class ChangeKind(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


@dataclass(frozen=True)
class ChangeEvent:
    kind: ChangeKind
    key: ResourceKey
    version: int


class EventBus:
    """Each subscriber gets its own unbounded queue, so a slow one never blocks a write."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[ChangeEvent]] = set()

    def publish(self, event: ChangeEvent) -> None:
        for queue in self._queues:
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[ChangeEvent]]:
        queue: asyncio.Queue[ChangeEvent] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
