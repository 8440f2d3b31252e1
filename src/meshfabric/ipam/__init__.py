"""Virtual IPs for mesh services, kept in each resource's status."""

from meshfabric.ipam.allocator import RangeExhausted, VipAllocator, vips
from meshfabric.ipam.provisioner import VipProvisioner

__all__ = ["RangeExhausted", "VipAllocator", "VipProvisioner", "vips"]
