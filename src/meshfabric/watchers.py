"""Callbacks registered under a key for as long as a `with` block runs.

The store's watchers of one resource and the snapshot cache's watchers of one proxy are
held for every connected proxy, for as long as it stays connected: each registration is an
object of three slots (not a generator frame), and each key's callbacks a list (most keys
have one), so a watch costs about a tenth of a KiB.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Callback = TypeVar("Callback", bound=Callable[..., Any])


class Watchers(Generic[Key, Callback]):
    def __init__(self) -> None:
        self._by_key: dict[Key, list[Callback]] = {}

    def of(self, key: Key) -> Iterator[Callback]:
        """The key's callbacks, a copy: a callback may end its own watch."""
        return iter(list(self._by_key.get(key, ())))

    def watching(self, key: Key, notify: Callback) -> AbstractContextManager[None]:
        return _Watch(self._by_key, key, notify)


class _Watch(AbstractContextManager[None]):
    __slots__ = ("_by_key", "_key", "_notify")

    def __init__(self, by_key: dict[Any, list[Any]], key: Hashable, notify: Any) -> None:
        self._by_key, self._key, self._notify = by_key, key, notify

    def __enter__(self) -> None:
        self._by_key.setdefault(self._key, []).append(self._notify)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        callbacks = self._by_key.get(self._key)
        if callbacks is not None and self._notify in callbacks:
            callbacks.remove(self._notify)
            if not callbacks:
                del self._by_key[self._key]
