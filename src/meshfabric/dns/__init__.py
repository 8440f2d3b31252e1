"""DNS names of mesh services."""

from meshfabric.dns.hostnames import hostnames

__all__ = ["hostnames"]
