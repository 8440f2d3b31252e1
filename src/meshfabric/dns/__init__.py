"""DNS names of mesh services."""

from meshfabric.dns.defaults import default_generators, ensure_default_generators
from meshfabric.dns.hostnames import hostnames

__all__ = ["default_generators", "ensure_default_generators", "hostnames"]
