"""Change events reach the watchers of exactly the resource that changed."""

from __future__ import annotations

from meshfabric.resources import ResourceKey
from meshfabric.store.events import ChangeEvent, ChangeKind, EventBus


def test_a_key_watcher_hears_only_its_key_and_only_while_it_watches() -> None:
    bus, heard = EventBus(), []
    mine, other = ResourceKey("Secret", "default", "a"), ResourceKey("Secret", "default", "b")
    with bus.watching(mine, heard.append):
        bus.publish(ChangeEvent(ChangeKind.UPDATED, other, 1))
        bus.publish(ChangeEvent(ChangeKind.UPDATED, mine, 2))
    bus.publish(ChangeEvent(ChangeKind.DELETED, mine, 3))
    assert [event.version for event in heard] == [2]
