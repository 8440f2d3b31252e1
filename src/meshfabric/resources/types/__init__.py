"""One module per non-policy type; ALL lists them (each declares its own apply order).

Policies are not here: each is a package of `meshfabric.policies`, found there. Nor are the
insights, which only the control plane writes: INSIGHTS lists those KDS carries.
"""

from meshfabric.resources.model import ResourceType
from meshfabric.resources.types import (
    dataplane,
    dataplaneinsight,
    globalsecret,
    hostnamegenerator,
    mesh,
    meshexternalservice,
    meshmultizoneservice,
    meshservice,
    secret,
    zone,
    zoneegress,
    zoneingress,
)

ALL: list[ResourceType] = [
    mesh.TYPE,
    zone.TYPE,
    secret.TYPE,
    globalsecret.TYPE,
    hostnamegenerator.TYPE,
    meshservice.TYPE,
    meshmultizoneservice.TYPE,
    meshexternalservice.TYPE,
    zoneingress.TYPE,
    zoneegress.TYPE,
    dataplane.TYPE,
]

# Written by the control plane, never through the API: no routes, not in the registry.
INSIGHTS: list[ResourceType] = [dataplaneinsight.TYPE]
