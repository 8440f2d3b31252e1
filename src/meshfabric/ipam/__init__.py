"""Virtual IPs for mesh services, kept in each resource's status."""

from meshfabric.ipam.allocator import RANGES, RangeExhausted, VipAllocator, vips
from meshfabric.ipam.provisioner import VipProvisioner

__all__ = ["RANGES", "RangeExhausted", "VipAllocator", "VipProvisioner", "vips"]
