"""The Envoy config a dataplane gets, as JSON, with the policies that shaped it, and warnings
about what it cannot reach and why.

For a connected proxy this is exactly the snapshot being served; for one that is not
connected, what it would get now. Private keys are never shown.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import any_pb2, json_format

from meshfabric.ca.identities import IdentityProvider
from meshfabric.xds.cache.snapshot import Snapshot, SnapshotCache
from meshfabric.xds.envoy.types import PUSH_ORDER, SECRET, SHORT_NAMES
from meshfabric.xds.generate.profile import build_resources  # also registers every message type
from meshfabric.xds.model.proxy import ProxyId
from meshfabric.xds.reconcile import Reconciler

REDACTED = "<redacted>"


class Inspector:
    def __init__(
        self, reconciler: Reconciler, cache: SnapshotCache, identities: IdentityProvider
    ) -> None:
        self._reconciler = reconciler
        self._cache = cache
        self._identities = identities

    async def dataplane_config(self, mesh: str, name: str) -> dict[str, Any] | None:
        """None if the mesh has no such dataplane."""
        context = await self._reconciler.contexts.get(mesh)
        proxy = ProxyId(mesh, name)
        features = self._reconciler.features_of(proxy)
        proxy_context = await self._reconciler.proxy_context(context, name, features)
        if proxy_context is None:
            return None
        # Built here rather than by generate_snapshot, which would count it as xDS work.
        fresh = Snapshot.of(build_resources(proxy_context).encode())  # records the matches
        served = self._cache.get(proxy)
        if served is None:
            self._identities.forget_proxy(mesh, name)  # issued only to show it
        problem = context.egress_problem()
        return {
            "connected": served is not None,
            "policies": proxy_context.matched,
            "warnings": [problem] if problem else [],
            "xds": render(served or fresh),
        }


def render(snapshot: Snapshot) -> dict[str, list[dict[str, Any]]]:
    rendered: dict[str, list[dict[str, Any]]] = {}
    for type_url in PUSH_ORDER:
        items = snapshot.of_type(type_url)
        rendered[SHORT_NAMES[type_url]] = [
            _as_dict(items[name].body, redact=type_url == SECRET) for name in sorted(items)
        ]
    return rendered


def _as_dict(body: any_pb2.Any, redact: bool) -> dict[str, Any]:
    document: dict[str, Any] = json_format.MessageToDict(body)
    if redact and "tlsCertificate" in document:
        document["tlsCertificate"]["privateKey"] = {"inlineString": REDACTED}
    return document
