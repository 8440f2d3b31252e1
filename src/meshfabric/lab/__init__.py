"""A multi-zone lab in Linux network namespaces: hosts, zone routers with firewalls, sshd.

from meshfabric.lab import KONG_AIR, Lab

lab = Lab.up(KONG_AIR)
lab.host("us-east-1/client-1").run(["ip", "route"])
lab.down()
"""

from meshfabric.lab.lab import DEFAULT_STATE_DIR, Lab, LabHost
from meshfabric.lab.topology import KONG_AIR, HostSpec, LabError, Role, Topology, ZoneSpec

__all__ = [
    "DEFAULT_STATE_DIR",
    "KONG_AIR",
    "HostSpec",
    "Lab",
    "LabError",
    "LabHost",
    "Role",
    "Topology",
    "ZoneSpec",
]
