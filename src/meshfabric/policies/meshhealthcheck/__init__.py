"""MeshHealthCheck: active health checks of a destination's endpoints."""

from meshfabric.policies.meshhealthcheck.plugin import PLUGIN

__all__ = ["PLUGIN"]
