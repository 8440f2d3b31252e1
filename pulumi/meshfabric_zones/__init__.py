"""Zone configuration shared by the meshfabric Pulumi programs.

Both `pulumi/aws` and `pulumi/kubernetes` read the same `zones` list from their
stack configuration, so a user writes the list once and both programs agree on
zone names, regions and kinds.
"""

from meshfabric_zones.errors import ConfigError
from meshfabric_zones.schema import (
    GlobalControlPlane,
    InstanceGroup,
    MeshConfig,
    NodeGroup,
    UniversalInstances,
    Zone,
    ZoneKind,
    parse_mesh_config,
    parse_zones,
)

__all__ = [
    "ConfigError",
    "GlobalControlPlane",
    "InstanceGroup",
    "MeshConfig",
    "NodeGroup",
    "UniversalInstances",
    "Zone",
    "ZoneKind",
    "parse_mesh_config",
    "parse_zones",
]
