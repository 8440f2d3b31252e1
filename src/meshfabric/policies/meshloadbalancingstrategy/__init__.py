"""MeshLoadBalancingStrategy: how requests spread over endpoints, zones and localities.

No Envoy plugin yet: its policies are stored, validated and synced, but shape no proxy.
"""
