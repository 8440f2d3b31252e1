"""One module per non-policy type; ALL lists them (each declares its own apply order).

Policies are not here: each is a package of `meshfabric.policies`, found there.
"""

from meshfabric.resources.model import ResourceType
from meshfabric.resources.types import (
    dataplane,
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
