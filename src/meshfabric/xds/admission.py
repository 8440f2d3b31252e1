"""Which proxies the ADS server serves: registered dataplanes presenting a valid token."""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from envoy.config.core.v3.base_pb2 import Node

from meshfabric.metrics import XDS_CONNECTED_PROXIES
from meshfabric.resources import ResourceKey
from meshfabric.store.protocol import Store
from meshfabric.tokens import TokenIssuer
from meshfabric.xds.auth import check_claims, verify_token
from meshfabric.xds.insights import ProxyInsights
from meshfabric.xds.proxy import Features, ProxyId
from meshfabric.xds.reconcile import Reconciler
from meshfabric.xds.server import Admitted, Refused

# Node metadata set by meshfabric-dp's bootstrap.
MESH_KEY = "mesh"
NAME_KEY = "name"
PROXY_TYPE_KEY = "proxyType"


class DataplaneAdmission:
    def __init__(
        self,
        store: Store,
        tokens: TokenIssuer,
        reconciler: Reconciler,
        insights: ProxyInsights,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._reconciler = reconciler
        self._insights = insights

    async def admit(self, node: Node, metadata: Mapping[str, str]) -> Admitted:
        mesh, name, proxy_type = identify(node)
        claims = await verify_token(self._tokens, metadata, mesh)
        dataplane = await self._store.get(ResourceKey("Dataplane", mesh, name))
        if dataplane is None:
            raise Refused(
                grpc.StatusCode.NOT_FOUND,
                f'dataplane "{name}" is not registered in mesh "{mesh}"',
            )
        check_claims(claims, name, dataplane.spec, proxy_type)
        fields = node.metadata.fields
        metadata = {key: value.string_value for key, value in fields.items()}
        return Admitted(ProxyId(mesh, name), Features.from_metadata(metadata))

    def connected(self, admitted: Admitted) -> None:
        XDS_CONNECTED_PROXIES.inc()
        self._reconciler.connect(admitted.proxy, admitted.features)
        self._insights.connected(admitted.proxy)

    def disconnected(self, admitted: Admitted) -> None:
        XDS_CONNECTED_PROXIES.dec()
        self._reconciler.disconnect(admitted.proxy)
        self._insights.disconnected(admitted.proxy)


def identify(node: Node) -> tuple[str, str, str]:
    """(mesh, dataplane name, proxy type) of a connecting Envoy."""
    fields = node.metadata.fields
    mesh = fields[MESH_KEY].string_value if MESH_KEY in fields else ""
    name = fields[NAME_KEY].string_value if NAME_KEY in fields else ""
    if not (mesh and name):
        mesh, _, name = node.id.partition(".")
    if not (mesh and name):
        raise Refused(
            grpc.StatusCode.INVALID_ARGUMENT,
            f'cannot tell the mesh and dataplane from node id "{node.id}" (want <mesh>.<name>)',
        )
    proxy_type = fields[PROXY_TYPE_KEY].string_value if PROXY_TYPE_KEY in fields else ""
    return mesh, name, proxy_type or "dataplane"
