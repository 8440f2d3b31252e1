"""Create each mesh's builtin CA as soon as the Mesh asks for one, not at its first proxy."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from meshfabric.ca.builtin import ensure_root
from meshfabric.resources import ResourceKey
from meshfabric.store.events import ChangeKind
from meshfabric.store.protocol import Store

log = logging.getLogger(__name__)


def builtin_backends(mesh: Mapping[str, Any]) -> list[str]:
    mtls = mesh.get("mtls") or {}
    return [
        str(backend["name"])
        for backend in mtls.get("backends") or []
        if backend.get("type") == "builtin" and backend.get("name")
    ]


async def provision(store: Store, mesh: str) -> None:
    found = await store.get(ResourceKey("Mesh", "", mesh))
    for backend in builtin_backends(found.spec if found else {}):
        await ensure_root(store, mesh, backend)


async def run(store: Store) -> None:
    """Until cancelled: every existing mesh, then every created or changed one."""
    async with store.events.subscribe() as queue:
        for mesh in (await store.list("Mesh", "")).items:
            await provision(store, mesh.name)
        while True:
            event = await queue.get()
            if event.key.type != "Mesh" or event.kind is ChangeKind.DELETED:
                continue
            try:
                await provision(store, event.key.name)
            except Exception:
                log.exception("could not create the CA of mesh %s", event.key.name)
