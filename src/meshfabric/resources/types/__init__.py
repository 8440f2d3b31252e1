"""One module per resource type; ALL lists them in dependency order (a Mesh first)."""

from meshfabric.resources.model import ResourceType
from meshfabric.resources.types import mesh, meshtrafficpermission

ALL: list[ResourceType] = [
    mesh.TYPE,
    meshtrafficpermission.TYPE,
]
