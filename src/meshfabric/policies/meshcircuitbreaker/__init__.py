"""MeshCircuitBreaker: connection limits and outlier detection."""

from meshfabric.policies.meshcircuitbreaker.plugin import PLUGIN

__all__ = ["PLUGIN"]
