"""MeshTimeout: connection, idle and HTTP timeouts on the proxy's inbounds and outbounds."""

from meshfabric.policies.meshtimeout.plugin import PLUGIN

__all__ = ["PLUGIN"]
