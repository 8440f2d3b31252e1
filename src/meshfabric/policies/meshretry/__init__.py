"""MeshRetry: retry failed requests and connection attempts to a destination."""

from meshfabric.policies.meshretry.plugin import PLUGIN

__all__ = ["PLUGIN"]
