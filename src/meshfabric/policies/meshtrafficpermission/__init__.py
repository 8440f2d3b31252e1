"""MeshTrafficPermission: which services may call an inbound, enforced by Envoy's RBAC."""

from meshfabric.policies.meshtrafficpermission.plugin import PLUGIN
from meshfabric.policies.meshtrafficpermission.rules import Permissions, permissions_for

__all__ = ["PLUGIN", "Permissions", "permissions_for"]
