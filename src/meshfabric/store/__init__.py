"""Durable resource storage with optimistic concurrency and change events."""

from meshfabric.store.errors import (
    Conflict,
    MeshNotFound,
    NotFound,
    StoreError,
    StoreHealth,
    StoreUnavailable,
)
from meshfabric.store.events import ChangeEvent, ChangeKind, EventBus
from meshfabric.store.protocol import Page, Store

__all__ = [
    "ChangeEvent",
    "ChangeKind",
    "Conflict",
    "EventBus",
    "MeshNotFound",
    "NotFound",
    "Page",
    "Store",
    "StoreError",
    "StoreHealth",
    "StoreUnavailable",
]
