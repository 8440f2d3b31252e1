"""The resources being generated for one proxy: built by generators, edited by policies."""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf.message import Message

from meshfabric.xds.envoy.resource import XdsResource, type_url


class ResourceSet:
    """Messages by type URL and name, plus already-encoded resources shared with other proxies.

    Shared resources are final: policies edit only the messages this proxy owns.
    """

    def __init__(self) -> None:
        self._messages: dict[str, dict[str, Message]] = {}
        # By type URL, then name: no (type, name) key made per resource (a proxy reaching every
        # service adds thousands, each a tuple for the garbage collector to visit).
        self._shared: dict[str, dict[str, XdsResource]] = {}

    def add(self, name: str, message: Message) -> None:
        url = type_url(message.DESCRIPTOR)
        by_name = self._messages.get(url)
        if by_name is None:  # once per type, not a dict made and dropped for every message
            by_name = self._messages[url] = {}
        by_name[name] = message

    def add_shared(self, *items: XdsResource) -> None:
        # Several at once: a proxy reaching every service adds thousands, a call for each.
        shared = self._shared
        for resource in items:
            by_name = shared.get(resource.type_url)
            if by_name is None:
                by_name = shared[resource.type_url] = {}
            by_name[resource.name] = resource

    def get(self, type_url: str, name: str) -> Message | None:
        return self._messages.get(type_url, {}).get(name)

    def pop(self, type_url: str, name: str) -> Message | None:
        return self._messages.get(type_url, {}).pop(name, None)

    def of_type(self, type_url: str) -> dict[str, Message]:
        return self._messages.get(type_url, {})

    def encode(self) -> Iterator[XdsResource]:
        for url, by_name in self._messages.items():
            for name, message in by_name.items():
                yield XdsResource.encode(name, message, url)
        for by_name in self._shared.values():
            yield from by_name.values()
