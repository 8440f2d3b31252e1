"""One module per resource type; ALL lists them in dependency order (a Mesh first)."""

from meshfabric.resources.model import ResourceType
from meshfabric.resources.types import (
    dataplane,
    globalsecret,
    hostnamegenerator,
    mesh,
    meshaccesslog,
    meshcircuitbreaker,
    meshexternalservice,
    meshhealthcheck,
    meshloadbalancingstrategy,
    meshmetric,
    meshmultizoneservice,
    meshretry,
    meshservice,
    meshtimeout,
    meshtrace,
    meshtrafficpermission,
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
    # Services and the proxies that serve them, before the policies that select them.
    hostnamegenerator.TYPE,
    meshservice.TYPE,
    meshmultizoneservice.TYPE,
    meshexternalservice.TYPE,
    zoneingress.TYPE,
    zoneegress.TYPE,
    dataplane.TYPE,
    meshtrafficpermission.TYPE,
    meshtimeout.TYPE,
    meshretry.TYPE,
    meshhealthcheck.TYPE,
    meshcircuitbreaker.TYPE,
    meshloadbalancingstrategy.TYPE,
    meshaccesslog.TYPE,
    meshmetric.TYPE,
    meshtrace.TYPE,
]
