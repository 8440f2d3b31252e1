"""Status the control plane computes from what it stores: which proxies back a MeshService
and how many are connected and healthy, its addresses, and which MeshServices make up a
MeshMultiZoneService; the MeshServices a zone generates from its Dataplanes; and the
monitoring assignments Prometheus discovers proxies by.
Nothing imports this package but the process wiring in cp/ and that one API route."""

from meshfabric.insights.generated import MeshServiceGenerator
from meshfabric.insights.status import (
    dataplane_online,
    mesh_service_status,
    multizone_service_status,
)
from meshfabric.insights.updater import StatusUpdater

__all__ = [
    "MeshServiceGenerator",
    "StatusUpdater",
    "dataplane_online",
    "mesh_service_status",
    "multizone_service_status",
]
